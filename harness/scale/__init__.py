"""Scale-out: shard planning and the Dask workers that run shards."""

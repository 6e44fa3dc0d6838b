"""Neural models: registry, loading, memory budget. torch is imported lazily, never at package import."""

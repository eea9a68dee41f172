"""The HTTP door of seqquiz (`seqquiz serve`): a FastAPI app over `jobs` and `store`."""

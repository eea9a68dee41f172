"""The HTTP door of seqquiz (`seqquiz serve`): a FastAPI app over `seqquiz.jobs` and `store`."""

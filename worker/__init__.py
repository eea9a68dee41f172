"""The queue side of seqquiz: the Celery app and tasks (`worker.app`, `worker.tasks`), durable
results in Redis (`worker.store`), the batch client (`worker.client`), and their settings
(`worker.config`). The only package with side effects."""

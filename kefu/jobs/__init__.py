"""Background jobs on Huey: the engine (``engine``), failed-job records for admins (``models``)."""

"""Reports for supervisors and admins: metric definitions (``metrics``) and the summary API."""

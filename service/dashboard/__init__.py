"""The admin dashboard: server-rendered pages for company admins."""

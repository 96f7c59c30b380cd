"""Web pages for teachers, school staff and Sở admins (server-rendered, Vietnamese).

``install_web(app)`` (in :mod:`gradesync.web.setup`) mounts them; this package
file stays import-light because the auth module imports :mod:`gradesync.web.cookie`.
"""

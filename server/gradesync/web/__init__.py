"""Web pages for teachers, school staff and Sở admins (server-rendered, Vietnamese).

``install_web(app)`` (in :mod:`gradesync.web.setup`) mounts them.
"""

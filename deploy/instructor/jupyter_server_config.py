# The instructor's server on the course's hub (deploy/jupyterhub_config.py puts this folder on its
# JUPYTER_CONFIG_PATH): JupyterLab's Nbgrader > Formgrader shows formgrader in a frame of the same
# server, which JupyterHub's default policy (frame-ancestors 'none') forbids.
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}}

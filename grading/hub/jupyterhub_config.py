"""JupyterHub for a class of dgm-course on one machine (../INSTRUCTORS.md, "A class on
JupyterHub, on one machine"). From the instructor's clone, as root:

    sudo DGMHUB_INSTRUCTOR=instructor /opt/dgm-course/bin/jupyterhub \\
        -f grading/hub/jupyterhub_config.py

Students and the instructor are the machine's Unix users and log in with their own passwords
(PAM); each gets a JupyterLab, started as that user in their home, with the course environment
this hub runs in. nbgrader's exchange is a folder everyone writes: students fetch and submit from
JupyterLab's Nbgrader > Assignment List; the instructor releases, collects and grades from
``grading/`` in their own home, which students cannot read.

Settings from the environment, and their defaults on a class machine:

- DGMHUB_STATE: the hub's database, cookie secret and proxy pid (root only): /srv/jupyterhub
- DGMHUB_EXCHANGE: nbgrader's exchange, writable by everyone: /srv/nbgrader/exchange
- DGMHUB_USER_CONFIG: the Jupyter settings every user's server reads, a copy of
  grading/hub/jupyter/ where all can read it: /etc/dgm-course/jupyter
- DGMHUB_INSTRUCTOR: the instructor's user name, the hub's admin: instructor
- DGMHUB_ROSTER: the class, nbgrader's roster (its ``id`` column): grading/students.csv
"""

import csv
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BIN = Path(sys.executable).parent  # the course environment the hub runs in: users get the same

STATE = Path(os.environ.get("DGMHUB_STATE", "/srv/jupyterhub"))
EXCHANGE = os.environ.get("DGMHUB_EXCHANGE", "/srv/nbgrader/exchange")
USER_CONFIG = os.environ.get("DGMHUB_USER_CONFIG", "/etc/dgm-course/jupyter")
INSTRUCTOR = os.environ.get("DGMHUB_INSTRUCTOR", "instructor")
ROSTER = Path(os.environ.get("DGMHUB_ROSTER", str(HERE.parent / "students.csv")))

# --- who may log in: the roster's students and the instructor, with their Unix passwords ---
with open(ROSTER, newline="") as f:
    STUDENTS = {row["id"].strip() for row in csv.DictReader(f) if row["id"].strip()}
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = STUDENTS | {INSTRUCTOR}
c.Authenticator.admin_users = {INSTRUCTOR}

# --- where the hub listens; put it behind TLS (c.JupyterHub.ssl_cert/ssl_key) to open it up ---
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
# configurable-http-proxy from npm: the copy the README's command installs in .node/, else PATH
_proxy = REPO / ".node" / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(_proxy) if _proxy.exists() else "configurable-http-proxy"]

# --- the hub's own state, readable by root only ---
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# --- each user's server: a local process as that Unix user, JupyterLab in their home ---
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 120  # a loaded 2-core machine starts JupyterLab in seconds, not minutes
c.Spawner.start_timeout = 120
c.Spawner.environment = {
    "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
    "JUPYTER_CONFIG_PATH": USER_CONFIG,  # nbgrader_config.py: the exchange and the course id
    "DGMHUB_EXCHANGE": EXCHANGE,
}
# stopping the hub stops every user's server and the proxy
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

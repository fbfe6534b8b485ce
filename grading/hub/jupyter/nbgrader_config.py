"""nbgrader's settings for every user of the class's JupyterHub (students and instructor).

The hub's configuration (../jupyterhub_config.py) points each user's server here with
JUPYTER_CONFIG_PATH; copy this folder to where it can be read by all (/etc/dgm-course/jupyter):
the instructor's clone of the course is private. The instructor's own grading/nbgrader_config.py
(the course directory) still decides everything about grading.
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.course_id = "dgm-course"
# the shared exchange (the hub passes its path); every user must be able to write to it
c.Exchange.root = os.environ.get("DGMHUB_EXCHANGE", "/srv/nbgrader/exchange")

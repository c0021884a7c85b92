# The board's WSGI file for PythonAnywhere.
#
# Web tab -> "Code" -> "WSGI configuration file" (/var/www/<username>_pythonanywhere_com_wsgi.py):
# replace everything in that file with this one, make the one edit marked below, save, Reload.
#
#   EDIT 1 (below, in this file): PROJECT_PATH, the folder you cloned the board into.
#   EDIT 2 (not in this file):    the virtualenv. Set it in the Web tab's "Virtualenv" section,
#                                 e.g. /home/<username>/.virtualenvs/board; PythonAnywhere uses
#                                 it to run this file, so no activate_this lines belong here.
#
# Nothing secret goes in this file. SECRET_KEY, DATABASE_URL and FLASK_CONFIG live in the .env
# file in PROJECT_PATH (board/config.py reads it): the web app does not see variables exported
# in a Bash console.
import sys

PROJECT_PATH = "/home/username/board"  # <-- EDIT 1: your project folder (replace "username")

if PROJECT_PATH not in sys.path:
    sys.path.insert(0, PROJECT_PATH)

from flask_app import app as application  # noqa: E402  (PythonAnywhere serves `application`)

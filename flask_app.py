"""The WSGI entry: `gunicorn flask_app:app`, or `from flask_app import app as application`."""

from board import create_app

app = create_app()

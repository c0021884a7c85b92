"""Baseline (a): the ceiling. A bare Flask route returning a constant string: no database, no
template, no session. No Flask app on this machine, with these gunicorn settings, can serve more
requests per second; every other figure in the benchmark is read as a fraction of this one.

    gunicorn bench.ceiling:app
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "Hello, World!"

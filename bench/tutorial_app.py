"""Baseline (b): the tutorial's design, the one this project descends from, in one file.

Every page view loads every comment ever posted (`Comment.query.all()`) and renders them all, so
its cost grows with the board. It reads the board's own `comments` table (DATABASE_URL, as the
board does), so the benchmark measures both designs on the same rows.

    DATABASE_URL=sqlite:////path/board.sqlite gunicorn bench.tutorial_app:app
"""

import os
from datetime import datetime, timezone

from flask import Flask, redirect, render_template, request, url_for
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
app.jinja_loader = DictLoader({"main_page.html": """<!doctype html>
<html>
<head><title>Comments</title></head>
<body>
  <h1>Comments</h1>
  <form action="{{ url_for('index') }}" method="POST">
    <input name="author" placeholder="Your name">
    <textarea name="contents" placeholder="Enter a comment"></textarea>
    <input type="submit" value="Post comment">
  </form>
  {% for comment in comments %}
  <div class="row">
    <span class="author">{{ comment.author or "Anonymous" }}</span>
    <span class="posted">{{ comment.posted.strftime("%A, %d %B %Y at %H:%M") }}</span>
    <p>{{ comment.content }}</p>
  </div>
  {% endfor %}
</body>
</html>
"""})
db = SQLAlchemy(app)


class Comment(db.Model):
    __tablename__ = "comments"
    id = db.Column(db.Integer, primary_key=True)
    content = db.Column(db.String(4096))
    author = db.Column(db.String(64))
    posted = db.Column(db.DateTime)


@app.route("/", methods=["GET", "POST"])
def index():
    if request.method == "GET":
        return render_template("main_page.html", comments=Comment.query.all())
    comment = Comment(content=request.form["contents"], author=request.form.get("author"),
                      posted=datetime.now(timezone.utc).replace(tzinfo=None))
    db.session.add(comment)
    db.session.commit()
    return redirect(url_for("index"))

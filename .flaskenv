# Read by the flask command (python-dotenv): `flask run` and `flask db ...` work from here.
FLASK_APP=flask_app

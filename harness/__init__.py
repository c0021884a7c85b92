"""Real servers for the tests and the benchmarks: databases, gunicorn, nginx and raw HTTP on loopback.

- `harness.ports`: a free port, and waiting until something listens on one.
- `harness.process`: `Server`, any server process on loopback, stopped in time whatever happens;
  `clean_env`, an environment without the settings of the process that starts it.
- `harness.databases`: PostgreSQL 15 and MariaDB in a temporary folder, or servers of your own.
- `harness.gunicorn`: `Gunicorn`, the one way anything here starts gunicorn.
- `harness.nginx`: a throwaway nginx serving one site's config.
- `harness.redis`: Redis on loopback, which a test may stop and start again on the same port.
- `harness.raw_http`: one request over a fresh connection, and a browser's first visit.
"""

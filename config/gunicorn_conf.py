"""gunicorn's settings for the production profile (`make run` with DATABASE_URL / REDIS_URL; docs/operations.md).

    gunicorn -c config/gunicorn_conf.py config.wsgi

Everything is read from the environment: WEB_BIND (or HOST and PORT), WEB_WORKERS, WEB_THREADS, WEB_TIMEOUT,
WEB_MAX_REQUESTS, WEB_ACCESS_LOG.
"""

import os

bind = os.environ.get("WEB_BIND") or f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# Processes (each with its own database connections) and threads per process.
workers = int(os.environ.get("WEB_WORKERS", os.environ.get("WEB_CONCURRENCY", "2")))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
# A request that takes longer is killed and its worker replaced (exports stream, so they send within it).
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Restart workers now and then, so a slow leak never grows without bound.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Each request is logged once, by the site (a JSON line carrying the request id of its audit events,
# operations.middleware.RequestLogMiddleware); gunicorn's plain-text access line only on request ("-": stdout).
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
# The proxy in front terminates TLS and sets X-Forwarded-Proto (settings SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# gunicorn's control socket (gunicornc) sits at one path per user: several servers on a machine would share it.
control_socket_disable = True

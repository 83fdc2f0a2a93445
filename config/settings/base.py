"""Settings shared by every environment, read from the environment (django-environ).

DATABASE_URL   default: a SQLite file under var/ (the embedded default, no server needed)
REDIS_URL      unset: Celery tasks run in-process (eager); set: Redis is the broker and the cache
DJANGO_SECRET_KEY, DJANGO_DEBUG, ALLOWED_HOSTS
"""

from pathlib import Path

import environ

from config.queues import TASK_ROUTES

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")  # noqa: S105
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "config.apps.AdminConfig",  # django.contrib.admin with the project's site (config/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from our own static files, not a third-party host
    "django_celery_beat",
    "simple_history",
    "axes",
    "health_check",
    "codes",
    "practice",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.bad_input.BadInputMiddleware",  # NUL in the address, oversized API bodies: 400/413, never a 500
    "config.outage.ServiceUnavailableMiddleware",  # database / Redis / broker outage: 503 with a plain message
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "practice.middleware.PracticeTimeZoneMiddleware",  # times shown in the practice's zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server and an in-process job share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# Connections kept for a minute (each process or thread its own), on SQLite too: opening one, with its PRAGMAs,
# and closing it cost 2.2 ms of CPU a request, as much as a claim check itself (bench/bench_api.py on SQLite).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    # Short socket timeouts: a Redis that does not answer fails a call in seconds (config.throttling then counts
    # in the process), not after the operating system's minutes-long connect timeout.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "socket_connect_timeout": env.float("REDIS_CACHE_TIMEOUT", default=2),
                "socket_timeout": env.float("REDIS_CACHE_TIMEOUT", default=2),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

# The number of our own reverse proxies in front of Django, each appending the address it was connected from to
# X-Forwarded-For: the client's address is the TRUSTED_PROXY_COUNT-th entry from the right (0: REMOTE_ADDR, no
# proxy). Used by the login lock-out (config.client_address) and the API's anonymous throttle (NUM_PROXIES).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Login throttling (django-axes): lock a user name + address after 5 failures for 15 minutes. Never the user name
# alone: a stranger's failures lock only the stranger's own address out of that account, not its owner's.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_RESET_ON_SUCCESS = True

LANGUAGE_CODE = "en-us"
FORMAT_MODULE_PATH = ["config.formats"]  # ISO dates, 24-hour times with the zone, everywhere in the admin
TIME_ZONE = "America/New_York"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"

REST_FRAMEWORK = {
    # Token first: a request without credentials gets 401 with "WWW-Authenticate: Token" (not a bare 403); a
    # browser's session still works, with its CSRF check.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON nested too deep or holding text that cannot be stored: 400 naming the field (config/bad_input.py)
    "DEFAULT_PARSER_CLASSES": [
        "config.bad_input.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Redis down: the throttles count in the process instead of failing the call (config/throttling.py)
    "DEFAULT_THROTTLE_CLASSES": [
        "config.throttling.AnonRateThrottle",
        "config.throttling.UserRateThrottle",
    ],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="100000/hour"),
        # POST claims/check and claims/{id}/check/ (billing.api.ClaimCheckThrottle), per user
        "claims-check": env.str("API_THROTTLE_CLAIMS_CHECK", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mild® billing helper API",
    "DESCRIPTION": "Claim checks, code look-ups as of a date of service, payers, rules, releases, guides and reports.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs page are for logged-in users (token or session) only; Swagger UI is served from our
    # static files (drf-spectacular-sidecar), never from a third-party host.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with no REDIS_URL, tasks run in-process (eager) so the embedded default needs no server.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# In-process Celery: jobs a page starts (uploads) run in a thread after its response (config.background)
EAGER_JOBS_IN_THREADS = env.bool("EAGER_JOBS_IN_THREADS", default=True)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# The sweeper (billing.sweep) sends again jobs left queued, or running with nobody on them, this long.
JOB_STALE_SECONDS = env.int("JOB_STALE_SECONDS", default=600)
JOB_SWEEP_SECONDS = env.int("JOB_SWEEP_SECONDS", default=60)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-jobs": {"task": "jobs.sweep", "schedule": float(JOB_SWEEP_SECONDS), "options": {"expires": 50}},
}
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")  # tests give each run its own
# Uploads, reports and refreshes on their own queues (config/queues.py, docs/deploy.md). CELERY_SEPARATE_QUEUES=false
# puts every task on the default queue (the worker tests: one queue of their own per run).
CELERY_TASK_ROUTES = TASK_ROUTES if env.bool("CELERY_SEPARATE_QUEUES", default=True) else {}

# Code-set loads (codes.loading): a release put in force with more than this share fewer rows than the one in
# force fails as a file cut short, unless allowed (import_codeset --allow-fewer-rows).
CODESET_MAX_ROW_DROP = env.float("CODESET_MAX_ROW_DROP", default=0.5)

# Code-set refreshes (codes.refresh): download limits, the row-drop check, when a silent run counts as dead.
REFRESH_MAX_BYTES = env.int("REFRESH_MAX_BYTES", default=2 * 1024**3)
REFRESH_CONNECT_TIMEOUT = env.float("REFRESH_CONNECT_TIMEOUT", default=20)
REFRESH_READ_TIMEOUT = env.float("REFRESH_READ_TIMEOUT", default=120)
REFRESH_DOWNLOAD_ATTEMPTS = env.int("REFRESH_DOWNLOAD_ATTEMPTS", default=4)
REFRESH_RETRY_BACKOFF = env.float("REFRESH_RETRY_BACKOFF", default=5)  # seconds, doubled after each failure
# Where downloads may reach (codes.refresh.download): file:// only under this folder (empty: no local files); no
# loopback, private, link-local or other non-public address unless in one of these networks (e.g. 10.2.0.0/16).
REFRESH_FILE_ROOT = env.str("REFRESH_FILE_ROOT", default="")
REFRESH_ALLOWED_NETWORKS = env.list("REFRESH_ALLOWED_NETWORKS", default=[])
REFRESH_MAX_ROW_DROP = env.float("REFRESH_MAX_ROW_DROP", default=0.20)
REFRESH_STALE_SECONDS = env.int("REFRESH_STALE_SECONDS", default=600)
REFRESH_LOCK_WAIT_SECONDS = env.int("REFRESH_LOCK_WAIT_SECONDS", default=3 * 3600)
WATCHED_CODES = env.list("WATCHED_CODES", default=[])  # extra codes whose changes send a notice

# What one batch upload may cost (billing.uploads.reading.Limits) and how many uploads a user may add per hour.
UPLOAD_MAX_ROWS = env.int("UPLOAD_MAX_ROWS", default=400_000)
UPLOAD_MAX_CLAIMS = env.int("UPLOAD_MAX_CLAIMS", default=100_000)
UPLOAD_MAX_XLSX_BYTES = env.int("UPLOAD_MAX_XLSX_BYTES", default=256 * 1024 * 1024)
UPLOAD_MAX_SHARED_STRINGS_BYTES = env.int("UPLOAD_MAX_SHARED_STRINGS_BYTES", default=32 * 1024 * 1024)
UPLOADS_PER_HOUR = env.int("UPLOADS_PER_HOUR", default=30)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing-helper@localhost")

# The one place the project looks for optional outside data: CMS's complete files in SHARED_DIR/cms, read only by
# the conformance tests (tests/conformance) and fixtures/codesets/build_cms_starter.py. Nothing else needs it.
SHARED_DIR = Path(env.str("SHARED_DIR", default=str(BASE_DIR.parent / "shared")))

# Logging: never log claim contents or patient data; only ids, counts and timings.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # the net under that rule: diagnosis codes, NPIs and trial numbers are masked on every handler
    "filters": {"redact_claim_data": {"()": "config.log_filters.RedactClaimData"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_claim_data"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
AXES_VERBOSE = False

"""Django settings for Paperboy. Every value comes from the environment (see README "Configuration")."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlparse

from accounts.client_ip import trusted_proxies_parse
from paperboy.env import (
    ImproperlyConfiguredEnv,
    database_from_url,
    dkim_settings_check,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
)
from paperboy.secret_key import secret_key_choose

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("PAPERBOY_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("PAPERBOY_PRODUCTION", False)
# The public development key: DEBUG=1, the test run (pytest) or make demo (PAPERBOY_INSECURE_DEV_KEY=1,
# which `manage.py demo` implies), never in production. Anything else needs a strong SECRET_KEY.
_DEV_KEY_OK = not PRODUCTION and (
    "pytest" in sys.modules or sys.argv[1:2] == ["demo"] or env_bool("PAPERBOY_INSECURE_DEV_KEY", False)
)
if _DEV_KEY_OK and sys.argv[1:2] == ["demo"]:
    os.environ.setdefault("PAPERBOY_INSECURE_DEV_KEY", "1")  # the demo's worker and mail sink too
SECRET_KEY = secret_key_choose(key=env_str("SECRET_KEY", ""), debug=DEBUG and not PRODUCTION, development=_DEV_KEY_OK)

SITE_URL = env_str("PAPERBOY_SITE_URL", "http://localhost:8000").rstrip("/")
_site = urlparse(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfiguredEnv(f"PAPERBOY_SITE_URL={SITE_URL!r} must be an http(s) URL")
SITE_DOMAIN = _site.hostname
# In production only the site's own host: links in account emails are built from the Host header.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [SITE_DOMAIN] if PRODUCTION else [SITE_DOMAIN, "localhost", "127.0.0.1", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.forms",  # its widget templates, for FORM_RENDERER below
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "accounts",
    "digest",
]

# Social login appears only when its client id and secret are configured.
SOCIALACCOUNT_PROVIDERS: dict = {}
for _provider, _prefix in (("github", "GITHUB"), ("google", "GOOGLE"), ("orcid", "ORCID")):
    _client_id = env_str(f"{_prefix}_CLIENT_ID")
    _secret = env_str(f"{_prefix}_CLIENT_SECRET")
    if _client_id and _secret:
        INSTALLED_APPS.append(f"allauth.socialaccount.providers.{_provider}")
        SOCIALACCOUNT_PROVIDERS[_provider] = {"APPS": [{"client_id": _client_id, "secret": _secret, "key": ""}]}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "paperboy.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "paperboy.urls"
WSGI_APPLICATION = "paperboy.wsgi.application"

TEMPLATES = [
    {
        # Web pages use Django templates (autoescape is always on there).
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

# Widgets render through the project's templates too, so templates/admin/widgets/ can label the admin's
# date/time inputs.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'paperboy.sqlite3'}"), base_dir=str(BASE_DIR)
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
SITE_ID = 1

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/preferences/"

# --- django-allauth -----------------------------------------------------------------------------
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# Never say whether an address has an account (signup, password reset, login).
ACCOUNT_PREVENT_ENUMERATION = True
# Subjects are whole sentences of their own ("Confirm your email address for Paperboy"), in sentence case.
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# Account emails are rendered in Paperboy's voice and queued (accounts/outbox.py), never sent in the request.
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Tell people when their password or address changes.
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = _site.scheme
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "accounts.signup.SignupForm"}
# Limits (accounts/adapter.py): failed logins per client address, per (account, client address) and
# per account from everywhere; while the last one holds, the owner still signs in with an emailed code
# or a reset link. Mails to one address (reset, login code, confirmation) are limited per address.
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_account": "30/h/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,3/h/key",
    "request_login_code": "20/m/ip,3/15m/key",
    "confirm_email": "1/3m/key",
    "change_email": "1/m/user",
}
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
# A reset asked for an address with no account sends nothing (the page says the same either way).
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
# The proxies in front of the site (PAPERBOY_TRUSTED_PROXIES): a count, or their addresses/ranges.
# Client addresses for the limits come from X-Forwarded-For only through them (accounts/client_ip.py).
PAPERBOY_TRUSTED_PROXIES = trusted_proxies_parse(env_str("PAPERBOY_TRUSTED_PROXIES", ""))
ALLAUTH_TRUSTED_PROXY_COUNT = PAPERBOY_TRUSTED_PROXIES if isinstance(PAPERBOY_TRUSTED_PROXIES, int) else 0
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_CHANGE = True
ACCOUNT_CHANGE_EMAIL = True
SOCIALACCOUNT_ONLY = False

# --- Email (SMTP) -------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 8025, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"Paperboy <digest@{SITE_DOMAIN}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Operators told about a paused run (circuit breaker) and server errors; comma-separated addresses.
ADMINS = [(address, address) for address in env_list("PAPERBOY_ADMINS")]

# --- Paperboy -----------------------------------------------------------------------------------
# Account emails (verification, reset) that the SMTP server refused or could not take are tried again
# with exponential backoff from this many seconds, this many times in all (about a day by default).
PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS = env_float("PAPERBOY_ACCOUNT_EMAIL_RETRY_SECONDS", 30.0, minimum=0.0)
PAPERBOY_ACCOUNT_EMAIL_MAX_ATTEMPTS = env_int("PAPERBOY_ACCOUNT_EMAIL_MAX_ATTEMPTS", 30, minimum=1)
PAPERBOY_POSTAL_ADDRESS = env_str("PAPERBOY_POSTAL_ADDRESS", "Paperboy · a self-hosted paper digest")
PAPERBOY_LIST_ID = env_str("PAPERBOY_LIST_ID", f"Paperboy daily digest <digest.{SITE_DOMAIN}>")
# Deliveries sent per Celery chunk task (one SMTP connection each).
PAPERBOY_CHUNK_SIZE = env_int("PAPERBOY_CHUNK_SIZE", 200, minimum=1, maximum=5000)
# Due subscribers per planning task (a shard): bounds a planning process's memory and the work a lost
# worker leaves for the next beat; shards of one slot are planned in parallel by the planning workers.
PAPERBOY_PLAN_SHARD_SIZE = env_int("PAPERBOY_PLAN_SHARD_SIZE", 5000, minimum=1, maximum=100_000)
# After this many days a digest row keeps only what the archive, the feedback links and the
# never-twice ledger need (its papers and why they matched); snippets and highlight spans are pruned,
# and rows of digests that never went out (skipped, expired, cancelled) are deleted. 0 = keep all.
PAPERBOY_DELIVERY_PRUNE_DAYS = env_int("PAPERBOY_DELIVERY_PRUNE_DAYS", 30, minimum=0)
PAPERBOY_MAX_PAPERS_DEFAULT = env_int("PAPERBOY_MAX_PAPERS_DEFAULT", 10, minimum=1, maximum=100)
# A slot not sent within this many hours after its send time expires instead of going out late.
PAPERBOY_SEND_WINDOW_HOURS = env_float("PAPERBOY_SEND_WINDOW_HOURS", 6.0, minimum=0.1)
# Delivery: retries of transient SMTP errors, connection reuse.
PAPERBOY_MAX_ATTEMPTS = env_int("PAPERBOY_MAX_ATTEMPTS", 5, minimum=1)
PAPERBOY_RETRY_BASE_SECONDS = env_float("PAPERBOY_RETRY_BASE_SECONDS", 60.0, minimum=0.0)
PAPERBOY_RETRY_MAX_SECONDS = env_float("PAPERBOY_RETRY_MAX_SECONDS", 3600.0, minimum=0.0)
PAPERBOY_SMTP_MAX_PER_CONNECTION = env_int("PAPERBOY_SMTP_MAX_PER_CONNECTION", 100, minimum=1)
# SMTP connections a chunk uses at once (threads in the worker): while one waits for the relay or the
# database, another renders. Each holds one row in "sending" at a time.
PAPERBOY_SMTP_CONNECTIONS = env_int("PAPERBOY_SMTP_CONNECTIONS", 3, minimum=1, maximum=32)
PAPERBOY_CONTACT_EMAIL = env_str("PAPERBOY_CONTACT_EMAIL", f"admin@{SITE_DOMAIN}")
# Feeds see who fetches them and how to reach the operator.
PAPERBOY_HTTP_USER_AGENT = env_str(
    "PAPERBOY_HTTP_USER_AGENT", f"Paperboy/1.0 (+{SITE_URL}; mailto:{PAPERBOY_CONTACT_EMAIL})"
)
PAPERBOY_MAILDIR = env_str("PAPERBOY_MAILDIR", str(VAR_DIR / "mail"))

# "View in browser" links in emails work this many days (unsubscribe links never expire; feedback
# links expire after 60 days, also on the view-in-browser page).
PAPERBOY_VIEW_LINK_MAX_AGE_DAYS = env_int("PAPERBOY_VIEW_LINK_MAX_AGE_DAYS", 365, minimum=1)
# Live preview: per user, at most this many requests per window (and one at a time); the combined
# "next digest" preview searches at most this many words (a subscription may have 20 x 32).
PAPERBOY_PREVIEW_RATE = env_int("PAPERBOY_PREVIEW_RATE", 40, minimum=1)
PAPERBOY_PREVIEW_RATE_WINDOW = env_int("PAPERBOY_PREVIEW_RATE_WINDOW", 10, minimum=1)
PAPERBOY_PREVIEW_WORD_BUDGET = env_int("PAPERBOY_PREVIEW_WORD_BUDGET", 96, minimum=32)

# --- Delivery (docs/DELIVERY.md) ----------------------------------------------------------------
# A row left in ``sending`` longer than this is taken as the worker's death and reconciled. It must
# exceed the longest single SMTP transaction: every socket operation may take EMAIL_TIMEOUT.
PAPERBOY_SENDING_TIMEOUT = env_float("PAPERBOY_SENDING_TIMEOUT", 900.0, minimum=0.5)
if PAPERBOY_SENDING_TIMEOUT < 8 * EMAIL_TIMEOUT:
    raise ImproperlyConfiguredEnv(
        f"PAPERBOY_SENDING_TIMEOUT={PAPERBOY_SENDING_TIMEOUT} must be at least 8 x EMAIL_TIMEOUT ({EMAIL_TIMEOUT})"
    )
# Pending rows whose chunk task may have been lost (broker restart) are queued again after this.
PAPERBOY_REQUEUE_AFTER_SECONDS = env_float("PAPERBOY_REQUEUE_AFTER_SECONDS", 900.0, minimum=0.0)
# Retries due within this many seconds are queued with a countdown; later ones wait for the beat.
PAPERBOY_RETRY_INLINE_MAX_SECONDS = env_float("PAPERBOY_RETRY_INLINE_MAX_SECONDS", 300.0, minimum=0.0)
# Every SMTP transaction (connect, EHLO, MAIL, RCPT, DATA, the final reply) ends within this many
# seconds, however slowly the relay trickles its replies; it must stay under PAPERBOY_SENDING_TIMEOUT so
# the sweeper never takes over a row whose transaction is still running.
PAPERBOY_SMTP_DEADLINE_SECONDS = env_float(
    "PAPERBOY_SMTP_DEADLINE_SECONDS", min(PAPERBOY_SENDING_TIMEOUT / 2, 4 * EMAIL_TIMEOUT), minimum=0.1
)
if PAPERBOY_SMTP_DEADLINE_SECONDS >= PAPERBOY_SENDING_TIMEOUT:
    raise ImproperlyConfiguredEnv(
        f"PAPERBOY_SMTP_DEADLINE_SECONDS={PAPERBOY_SMTP_DEADLINE_SECONDS} must be shorter than "
        f"PAPERBOY_SENDING_TIMEOUT ({PAPERBOY_SENDING_TIMEOUT})"
    )
# A message the relay accepted whose "sent" cannot be committed (the database restarting) is retried for
# this long, with backoff, before the worker gives it up to the sweeper.
PAPERBOY_RECORD_RETRY_SECONDS = env_float("PAPERBOY_RECORD_RETRY_SECONDS", 120.0, minimum=0.0)
# With an empty broker queue, pending rows older than this are taken as a lost chunk and queued again
# (the dispatcher runs every minute); with work still queued, PAPERBOY_REQUEUE_AFTER_SECONDS applies.
PAPERBOY_LOST_CHUNK_SECONDS = env_float("PAPERBOY_LOST_CHUNK_SECONDS", 90.0, minimum=0.0)
# The name Paperboy gives in EHLO/HELO; relays with reject_non_fqdn_helo_hostname need a full domain name.
PAPERBOY_SMTP_HELO = env_str("PAPERBOY_SMTP_HELO", SITE_DOMAIN or "localhost").strip()
if not PAPERBOY_SMTP_HELO or any(c.isspace() for c in PAPERBOY_SMTP_HELO) or not PAPERBOY_SMTP_HELO.isascii():
    raise ImproperlyConfiguredEnv(f"PAPERBOY_SMTP_HELO={PAPERBOY_SMTP_HELO!r} must be one ASCII host name")
# A recipient refused with a bare 5xx (no enhanced status code) is suppressed only after this many
# digests were refused that way (like Mailman's bounce score); a refusal naming the mailbox suppresses at once.
PAPERBOY_BOUNCE_SCORE_LIMIT = env_int("PAPERBOY_BOUNCE_SCORE_LIMIT", 3, minimum=1)
# A score whose last refusal is older than this starts again from zero.
PAPERBOY_BOUNCE_SCORE_STALE_DAYS = env_int("PAPERBOY_BOUNCE_SCORE_STALE_DAYS", 7, minimum=1)
# The same bare refusal for this many different recipients in a row is taken as a refusal of Paperboy.
PAPERBOY_REFUSAL_REPEAT_LIMIT = env_int("PAPERBOY_REFUSAL_REPEAT_LIMIT", 5, minimum=0)
# Replies to a digest go here when set (else to the From address).
PAPERBOY_REPLY_TO = env_str("PAPERBOY_REPLY_TO").strip()
if "\r" in PAPERBOY_REPLY_TO or "\n" in PAPERBOY_REPLY_TO or (PAPERBOY_REPLY_TO and "@" not in PAPERBOY_REPLY_TO):
    raise ImproperlyConfiguredEnv(f"PAPERBOY_REPLY_TO={PAPERBOY_REPLY_TO!r} must be one email address")
# Gmail's feedback loop groups complaints by the last field of Feedback-ID (the sender id).
PAPERBOY_FEEDBACK_ID_SENDER = env_str("PAPERBOY_FEEDBACK_ID_SENDER", "paperboy").strip()
if not PAPERBOY_FEEDBACK_ID_SENDER.replace("-", "").replace(".", "").replace("_", "").isalnum():
    raise ImproperlyConfiguredEnv(
        f"PAPERBOY_FEEDBACK_ID_SENDER={PAPERBOY_FEEDBACK_ID_SENDER!r} must be letters, digits, '.', '-' or '_'"
    )
# DKIM signing of every digest (docs/DELIVERY.md, "Before the first send"); all three or none.
PAPERBOY_DKIM_DOMAIN = env_str("PAPERBOY_DKIM_DOMAIN").strip()
PAPERBOY_DKIM_SELECTOR = env_str("PAPERBOY_DKIM_SELECTOR").strip()
PAPERBOY_DKIM_PRIVATE_KEY_FILE = env_str("PAPERBOY_DKIM_PRIVATE_KEY_FILE").strip()
dkim_settings_check(
    domain=PAPERBOY_DKIM_DOMAIN, selector=PAPERBOY_DKIM_SELECTOR, key_file=PAPERBOY_DKIM_PRIVATE_KEY_FILE
)
# While sending is paused, a chunk checks again after this many seconds.
PAPERBOY_PAUSE_RECHECK_SECONDS = env_float("PAPERBOY_PAUSE_RECHECK_SECONDS", 60.0, minimum=0.1)
# The circuit breaker pauses sending after this many consecutive failed messages (0 = never).
PAPERBOY_BREAKER_THRESHOLD = env_int("PAPERBOY_BREAKER_THRESHOLD", 25, minimum=0)
# Rate limit shared by all workers (token bucket in Redis), per SMTP relay; 0 = no limit.
PAPERBOY_RATE_PER_SECOND = env_float("PAPERBOY_RATE_PER_SECOND", 0.0, minimum=0.0)
PAPERBOY_RATE_PER_HOUR = env_float("PAPERBOY_RATE_PER_HOUR", 0.0, minimum=0.0)
PAPERBOY_RATE_BURST = env_float("PAPERBOY_RATE_BURST", 0.0, minimum=0.0)
# Per-relay overrides: "smtp.example.org:587=14/s,50000/h; other:25=5/s".
PAPERBOY_RATE_LIMITS = env_str("PAPERBOY_RATE_LIMITS", "")
PAPERBOY_RATELIMIT_REDIS_URL = env_str("PAPERBOY_RATELIMIT_REDIS_URL", REDIS_URL)
# Bounces: VERP envelope sender bounces+<signed delivery id>@PAPERBOY_BOUNCE_DOMAIN.
PAPERBOY_VERP = env_bool("PAPERBOY_VERP", True)
PAPERBOY_BOUNCE_LOCALPART = env_str("PAPERBOY_BOUNCE_LOCALPART", "bounces")
PAPERBOY_BOUNCE_DOMAIN = env_str("PAPERBOY_BOUNCE_DOMAIN", SITE_DOMAIN)
PAPERBOY_SOFT_BOUNCE_LIMIT = env_int("PAPERBOY_SOFT_BOUNCE_LIMIT", 3, minimum=1)

# --- Ingest (docs/INGEST.md) --------------------------------------------------------------------
# File-based feeds (kind jsonl with a path) read only files under this directory, and only
# `manage.py add_feed` creates them (the admin cannot).
PAPERBOY_IMPORT_DIR = env_str("PAPERBOY_IMPORT_DIR", str(VAR_DIR / "import"))
# Feeds are fetched from public addresses only; these host names and address ranges (comma-separated,
# e.g. "mirror.lab.internal,10.1.2.0/24") are allowed too (digest/ingest/netguard.py).
PAPERBOY_FETCH_ALLOW = env_list("PAPERBOY_FETCH_ALLOW")
# Seconds per socket operation of every feed request; one request (redirects included) may take 6x this
# in all, a wall-clock limit the fetcher enforces.
PAPERBOY_HTTP_TIMEOUT = env_float("PAPERBOY_HTTP_TIMEOUT", 20.0, minimum=0.01)
# Largest response body accepted (after decompression); bigger responses fail the run.
PAPERBOY_HTTP_MAX_BYTES = env_int("PAPERBOY_HTTP_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
# Retries of a transient failure (timeout, reset, 5xx, 429), with exponential backoff from this base.
PAPERBOY_HTTP_RETRIES = env_int("PAPERBOY_HTTP_RETRIES", 3, minimum=0, maximum=10)
PAPERBOY_HTTP_BACKOFF_SECONDS = env_float("PAPERBOY_HTTP_BACKOFF_SECONDS", 2.0, minimum=0.0)
# A Retry-After longer than this is not waited for in the worker: the feed is retried later instead.
PAPERBOY_HTTP_MAX_RETRY_AFTER = env_float("PAPERBOY_HTTP_MAX_RETRY_AFTER", 120.0, minimum=0.0)
# arXiv asks for at most one request every 3 seconds.
PAPERBOY_ARXIV_DELAY_SECONDS = env_float("PAPERBOY_ARXIV_DELAY_SECONDS", 3.0, minimum=0.0)
# Subscribers' libraries (digest/library/). Pasted arXiv ids Paperboy has not ingested are looked up
# on the arXiv API only when this is on (an operator whose server reaches arXiv); otherwise the
# subscriber is asked for a BibTeX/RIS entry with the title instead.
PAPERBOY_LIBRARY_ARXIV_LOOKUP = env_bool("PAPERBOY_LIBRARY_ARXIV_LOOKUP", False)
PAPERBOY_LIBRARY_ARXIV_URL = env_str("PAPERBOY_LIBRARY_ARXIV_URL", "https://export.arxiv.org/api/query")
PAPERBOY_LIBRARY_MAX_PAPERS = env_int("PAPERBOY_LIBRARY_MAX_PAPERS", 1000, minimum=1)
# A feed failing this many times in a row is flagged for the admin (and backs off meanwhile).
PAPERBOY_FEED_FLAG_AFTER_FAILURES = env_int("PAPERBOY_FEED_FLAG_AFTER_FAILURES", 3, minimum=1)
PAPERBOY_FEED_MAX_BACKOFF_MINUTES = env_int("PAPERBOY_FEED_MAX_BACKOFF_MINUTES", 24 * 60, minimum=1)
# A run still "running" after this long is considered abandoned (its worker died) and may be retaken.
PAPERBOY_FEED_LEASE_SECONDS = env_int("PAPERBOY_FEED_LEASE_SECONDS", 1800, minimum=60)
# At most this many papers from one feed in one run; the rest is reported on the run (a feed's own
# max_papers_per_run param overrides it).
PAPERBOY_FEED_MAX_PAPERS_PER_RUN = env_int("PAPERBOY_FEED_MAX_PAPERS_PER_RUN", 5000, minimum=1)

# --- Celery -------------------------------------------------------------------------------------
# Without REDIS_URL (make demo, tests) tasks run in-process; with it they go through the broker.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Planning and sending on their own queues, so a large slot being planned never holds every worker
# process while digests wait (Procfile: `worker` sends, `planner` plans). A worker started without
# -Q consumes every queue (make worker, tests, a one-host install).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {"celery": {}, "planning": {}, "sending": {}}
CELERY_TASK_ROUTES = {
    "digest.plan_due_slots": {"queue": "planning"},
    "digest.plan_shard": {"queue": "planning"},
    "digest.send_chunk": {"queue": "sending"},
}
CELERY_RESULT_EXPIRES = 3600
# Must exceed the longest chunk: an unacked chunk is redelivered after this many seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("PAPERBOY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # aiosmtpd logs every SMTP command at INFO; the sink is a development tool, keep it quiet.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "mail.log": {"level": "WARNING"}},
}

if PRODUCTION:
    _https = _site.scheme == "https"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = _https
    CSRF_COOKIE_SECURE = _https
    # Plain http is redirected and browsers remember to use https (a year; PAPERBOY_HSTS_SECONDS=0 turns
    # it off while trying TLS out). Preloading is a commitment the operator opts into.
    SECURE_SSL_REDIRECT = env_bool("PAPERBOY_SSL_REDIRECT", _https)
    SECURE_HSTS_SECONDS = env_int("PAPERBOY_HSTS_SECONDS", 31_536_000 if _https else 0, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PAPERBOY_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("PAPERBOY_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        SILENCED_SYSTEM_CHECKS = ["security.W021"]  # not preloading is the operator's choice, see above

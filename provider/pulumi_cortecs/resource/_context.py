"""What one provider process shares across its resources: the client, the catalog, the journal
and its leases, the instances' API key, how its users name things, and whether the API can be
used at all."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pulumi_cortecs._exceptions import (
    ApiConnectionError,
    ApiError,
    MalformedResponseError,
    MissingCredentialsError,
    NotFoundError,
    ServerError,
)
from pulumi_cortecs._journal import Journal
from pulumi_cortecs._leases import Leases
from pulumi_cortecs._schema import API_BASE_URL, NAMESPACE, PYTHON_NAMING, Naming
from pulumi_cortecs._store import open_store
from pulumi_cortecs._urls import missing_api_path
from pulumi_cortecs.api._client import Client
from pulumi_cortecs.api._models import Instance
from pulumi_cortecs.api._polling import ProportionalPollPolicy
from pulumi_cortecs.resource._catalog import Catalog
from pulumi_cortecs.resource._inputs import Failure
from pulumi_cortecs.resource._readiness import probe_client
from pulumi_cortecs.resource._settings import ProviderSettings

# A deployment rides out about half a minute of API trouble per call (backoff 0.5 s doubling)
# rather than failing half-way through a stack: measured in RELIABILITY.md, five attempts
# still lost about one call in 5,500 at a 25% fault rate.
PROVIDER_MAX_ATTEMPTS = 7
# The cadence of the provider's waits and readiness probes: never more than a tenth of the
# provisioning time (or a second) late, whatever the steps do, as the README promises.
PROVIDER_POLL_POLICY = ProportionalPollPolicy
CREDENTIALS = "cortecs:clientId and cortecs:clientSecret"
_API_BASE_URL = f"{NAMESPACE}:{API_BASE_URL.key} (or {API_BASE_URL.environment})"


class ProviderContext:
    """What one provider process shares across resources."""

    def __init__(
        self,
        client: Client,
        *,
        api_key: str | None = None,
        journal: Journal | None = None,
        leases: Leases | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        naming: Naming = PYTHON_NAMING,
        on_progress: Callable[[Instance], None] | None = None,
    ) -> None:
        self.client = client
        self.naming = naming
        """How the resource and its properties are named in messages."""
        self.catalog = Catalog(client)
        self.api_key = api_key
        self.journal = journal or Journal(open_store(None))
        self.leases = leases or Leases(self.journal.store)  # in the journal's store
        self.clock = clock
        self.sleep = sleep
        self.on_progress = on_progress
        """Told each status and step a wait sees (after it is logged), e.g. to draw a progress
        bar; the first call is the instance as it was started."""
        self.probe_http = probe_client()  # one pool for every instance's readiness probe
        self._access_lock = threading.Lock()
        self._access_checked = False
        self._access_failure: Failure | None = None
        self.api_unreachable = False

    @classmethod
    def from_settings(
        cls,
        settings: ProviderSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        naming: Naming = PYTHON_NAMING,
    ) -> ProviderContext:
        """``sleep`` is every wait's, the client's included: a provider that can be cancelled
        passes one that ends when it is."""
        client = Client(
            settings.client_id,
            settings.client_secret,
            settings.api_base_url,
            max_attempts=PROVIDER_MAX_ATTEMPTS,
            poll_policy=PROVIDER_POLL_POLICY,
            sleep=sleep,
        )
        # A shared journal, once configured, is the one every runner must use: it wins.
        journal = Journal(open_store(settings.journal_url or settings.journal_dir))
        return cls(client, api_key=settings.api_key, journal=journal, sleep=sleep, naming=naming)

    def access_failure(self) -> Failure | None:
        """Why the API cannot be used with the configured credentials and URL, if it cannot.

        Asked once per process (a preview checks every resource); the token it fetches is the
        one later calls use.
        """
        with self._access_lock:
            if not self._access_checked:
                self._access_failure = self._check_access()
                self._access_checked = True
            return self._access_failure

    def _check_access(self) -> Failure | None:
        try:
            self.client.authenticate()
        except MissingCredentialsError:
            reason = (
                f"no API credentials: set {CREDENTIALS} (`pulumi config set cortecs:clientId "
                "...` and `pulumi config set --secret cortecs:clientSecret ...`), or the "
                "CORTECS_CLIENT_ID and CORTECS_CLIENT_SECRET environment variables"
            )
        except ApiConnectionError as error:
            self.api_unreachable = True
            reason = (
                f"the API cannot be reached: {_API_BASE_URL} is {self.client.api_base_url}; {error}"
            )
        except (NotFoundError, MalformedResponseError) as error:
            # Not the API's address, rather than wrong credentials: most often without /api/v1.
            self.api_unreachable = True
            named = f"{_API_BASE_URL}, {self.client.api_base_url},"
            hint = missing_api_path(self.client.api_base_url, named)
            reason = f"{error}; " + (hint or f"is {named} the cortecs.ai API?")
        except ServerError as error:
            # The API failed, which says nothing about the credentials.
            reason = f"the API failed while {CREDENTIALS} were checked (try again later): {error}"
        except ApiError as error:
            reason = f"{CREDENTIALS} could not be used: {error}"
        else:
            return None
        # Not a property of the resource: the engine shows it as the resource's problem.
        return Failure("", reason)

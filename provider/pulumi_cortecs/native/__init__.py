"""The ``cortecs`` Pulumi package as a native provider plugin: ``cortecs:index:Instance`` for
programs in every Pulumi language (TypeScript, Go, C#, Java, YAML, Python), on the same
lifecycle as the dynamic ``ManagedInstance``.

``provider/`` is the plugin directory (``PulumiPlugin.yaml``, ``__main__.py``); the language
host runs it as ``python provider <engine address>`` and reads the port from its first line.
"""

from pulumi_cortecs.native._package_schema import INSTANCE, PACKAGE, package_schema
from pulumi_cortecs.native._provider import InstanceProvider
from pulumi_cortecs.native._server import serve
from pulumi_cortecs.resource._reporting import engine_address

__all__ = ["INSTANCE", "PACKAGE", "InstanceProvider", "engine_address", "package_schema", "serve"]

"""The ``cortecs`` provider plugin: ``python provider <engine address>`` (what the Pulumi
language host runs for this plugin directory) serves it and prints its port."""

import sys

from pulumi_cortecs.__version__ import __version__
from pulumi_cortecs.native import InstanceProvider, engine_address, serve

serve(sys.argv[1:], __version__, InstanceProvider(engine_address(sys.argv[1:])))

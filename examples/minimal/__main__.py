"""The smallest program: one Llama 3.1 8B instance on the recommended hardware.

Copy this file as the ``__main__.py`` of a Pulumi Python project, add
``pulumi-cortecs-instances @ git+https://github.com/OWNER/REPO`` to its requirements.txt (see
"Installation" in the README: OWNER/REPO is a placeholder) and set ``cortecs:clientId``,
``cortecs:clientSecret`` and ``cortecs:apiKey`` (the last two with ``--secret``).
"""

import pulumi
from pulumi_cortecs import ManagedInstance

llm = ManagedInstance("llm", model_id="meta-llama/Meta-Llama-3.1-8B-Instruct")

pulumi.export("base_url", llm.base_url)
pulumi.export("chat_openai_args", llm.chat_openai_args)

"""The README's program ("A program"): one Llama 3.1 8B instance on an L40S.

Copy this file as the ``__main__.py`` of a Pulumi Python project, add
``pulumi-cortecs-instances @ git+https://github.com/OWNER/REPO`` to its requirements.txt (see
"Installation" in the README: OWNER/REPO is a placeholder) and set ``cortecs:clientId``,
``cortecs:clientSecret`` and ``cortecs:apiKey`` (the last two with ``--secret``).
"""

import pulumi
from pulumi_cortecs import ManagedInstance

llm = ManagedInstance(
    "llm",
    model_id="meta-llama/Meta-Llama-3.1-8B-Instruct",  # a Hugging Face name, or its API id
    hardware_type_id="NVIDIA_L40S_1",
    context_length=32000,
    max_price_per_hour=5,  # preview fails above this
    auto_stop_after="8h",  # `cortecs-instances reap` stops it 8 h after each start
    chat_openai_kwargs={"temperature": 0.2},
)
pulumi.export("base_url", llm.base_url)
pulumi.export("chat_openai_args", llm.chat_openai_args)
pulumi.export("stops_at", llm.stops_at)

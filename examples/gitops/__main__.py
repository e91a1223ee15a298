"""One program for every environment: the instances come from stack config.

Each stack in stacks/ lists its instances under ``cortecs-instances:instances`` (name → the
inputs of ManagedInstance); the program declares them and exports, per instance, its
``base_url`` and ``chat_openai_args`` (ready for LangChain's ChatOpenAI).
"""

import pulumi
from pulumi_cortecs import ManagedInstance, ManagedInstanceArgs

config = pulumi.Config()
declared: dict[str, dict] = config.require_object("instances")

exported = {}
for name, inputs in declared.items():
    instance = ManagedInstance(name, ManagedInstanceArgs(**inputs))
    exported[name] = {
        "instance_id": instance.instance_id,
        "base_url": instance.base_url,
        "status": instance.status,
        "estimated_cost_per_hour": instance.estimated_cost_per_hour,
        "chat_openai_args": instance.chat_openai_args,
    }
    pulumi.export(f"{name}_base_url", instance.base_url)
    pulumi.export(f"{name}_chat_openai_args", instance.chat_openai_args)

pulumi.export("instances", exported)

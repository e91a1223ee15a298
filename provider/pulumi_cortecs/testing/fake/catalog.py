"""The fake's catalog: models, hardware types and which ones are available. Data only.

Prices are plausible EUR list prices; ``price_per_minute`` is ``price_per_hour / 60`` rounded.
Each model's ``hardware_configs`` maps a hardware type to its maximum context length there.
"""

from __future__ import annotations

from typing import Any

HARDWARE_TYPES: list[dict[str, Any]] = [
    {
        "hardware_type_id": hardware_type_id,
        "price_info": {
            "price_per_hour": per_hour,
            "price_per_minute": round(per_hour / 60, 4),
            "currency": "EUR",
        },
        "hardware_info": {"gpu": gpu, "gpu_count": gpu_count, "vram_gb": vram_gb},
    }
    for hardware_type_id, per_hour, gpu, gpu_count, vram_gb in [
        ("NVIDIA_L4_1", 0.89, "NVIDIA L4", 1, 24),
        ("NVIDIA_L40S_1", 1.79, "NVIDIA L40S", 1, 48),
        ("NVIDIA_A100_1", 2.49, "NVIDIA A100 80GB", 1, 80),
        ("NVIDIA_H100_1", 3.59, "NVIDIA H100 80GB", 1, 80),
        ("NVIDIA_A100_2", 4.98, "NVIDIA A100 80GB", 2, 160),
        ("NVIDIA_H100_2", 7.18, "NVIDIA H100 80GB", 2, 160),
    ]
]

# Like the real service, not every hardware type has capacity at any given moment.
AVAILABLE_HARDWARE_TYPE_IDS: tuple[str, ...] = (
    "NVIDIA_L4_1",
    "NVIDIA_L40S_1",
    "NVIDIA_H100_1",
    "NVIDIA_H100_2",
)

MODELS: list[dict[str, Any]] = [
    {
        "model_id": "meta-llama--Meta-Llama-3.1-8B-Instruct",
        "hf_name": "meta-llama/Meta-Llama-3.1-8B-Instruct",
        "screen_name": "Llama 3.1 8B Instruct",
        "description": "Meta's compact multilingual instruction-tuned model.",
        "creator": {"name": "Meta"},
        "size": 8,
        "instant_provisioned": False,
        "recommended_config": "NVIDIA_L4_1",
        "hardware_configs": {
            "NVIDIA_L4_1": 16000,
            "NVIDIA_L40S_1": 32000,
            "NVIDIA_H100_1": 128000,
        },
    },
    {
        "model_id": "mistralai--Mistral-Small-24B-Instruct-2501",
        "hf_name": "mistralai/Mistral-Small-24B-Instruct-2501",
        "screen_name": "Mistral Small 3 (24B)",
        "description": "Mistral's mid-sized model, strong at instructions and function calling.",
        "creator": {"name": "Mistral AI"},
        "size": 24,
        "instant_provisioned": False,
        "recommended_config": "NVIDIA_L40S_1",
        "hardware_configs": {
            "NVIDIA_L40S_1": 16000,
            "NVIDIA_A100_1": 32000,
            "NVIDIA_H100_1": 32000,
        },
    },
    {
        "model_id": "Qwen--Qwen2.5-72B-Instruct",
        "hf_name": "Qwen/Qwen2.5-72B-Instruct",
        "screen_name": "Qwen 2.5 72B Instruct",
        "description": "Alibaba's large model; needs two 80 GB GPUs.",
        "creator": {"name": "Qwen"},
        "size": 72,
        "instant_provisioned": False,
        "recommended_config": "NVIDIA_H100_2",
        "hardware_configs": {"NVIDIA_A100_2": 32000, "NVIDIA_H100_2": 131072},
    },
    {
        "model_id": "microsoft--Phi-3.5-mini-instruct",
        "hf_name": "microsoft/Phi-3.5-mini-instruct",
        "screen_name": "Phi-3.5 mini",
        "description": "A small model that is kept warm, so it is provisioned instantly.",
        "creator": {"name": "Microsoft"},
        "size": 3.8,
        "instant_provisioned": True,
        "recommended_config": "NVIDIA_L4_1",
        "hardware_configs": {"NVIDIA_L4_1": 32000, "NVIDIA_L40S_1": 128000},
    },
]

# What a pending instance is doing at each init step; steps past the end reuse the last one.
INIT_STEP_DESCRIPTIONS: tuple[str, ...] = (
    "Allocating hardware",
    "Pulling image",
    "Downloading weights",
    "Loading model",
    "Warming up",
)
RUNNING_DESCRIPTION = "Running"

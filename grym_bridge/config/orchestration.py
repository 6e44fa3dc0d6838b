"""Config sections of the orchestrator: planning, health and resources."""

from __future__ import annotations

from dataclasses import dataclass

from grym_bridge.config.fields import setting


@dataclass
class OrchestratorConfig:
    """Turning requests in words into chains of steps: the planner, the LLM, retries."""

    planner: str = setting("rules", "Who plans requests: rules (embedded), ollama, or openai (LM Studio and "
                           "other OpenAI-compatible servers). LLM plans fall back to the rules.",
                           choices=["rules", "ollama", "openai"])
    llm_url: str = setting("", "Base URL of the LLM server (empty: http://127.0.0.1:11434 for ollama, "
                           "http://127.0.0.1:1234/v1 for openai).")
    llm_model: str = setting("llama3.2", "Model name the LLM server knows.")
    llm_api_key: str = setting("", "Bearer token for OpenAI-compatible servers that want one.")
    llm_timeout_s: float = setting(20.0, "Longest wait for a plan from the LLM before the rules plan instead: one "
                                   "deadline for the whole exchange, however slowly the answer arrives.", min=0.1)
    llm_max_answer_bytes: int = setting(262144, "Largest answer read from the LLM server; a larger one is dropped "
                                        "and the rules plan instead.", min=1024, max=64 * 1024 * 1024)
    llm_context_tokens: int = setting(1024, "Token budget for the context (session, clip analysis) sent to the LLM.",
                                      min=64, max=131072)
    step_retries: int = setting(2, "Retries of a step after a transient failure (busy, timeout, connection).",
                                min=0, max=10)
    retry_backoff_s: float = setting(0.5, "First retry waits this long; each further retry waits twice as long.",
                                     min=0.0, max=60.0)


@dataclass
class HealthConfig:
    """Health states with hysteresis: warning and critical enter at these levels, exit below them by `hysteresis`.

    A level of 0 is never entered (a metric that only warns, say)."""

    interval_s: float = setting(2.0, "How often the server measures its health.", min=0.05)
    min_time_in_state_s: float = setting(10.0, "A state is kept at least this long before health improves.", min=0.0)
    hysteresis: float = setting(0.15, "A state is left only when a reading drops this fraction below where it "
                                "entered (0.15: entered at 90%, left below 76.5%).", min=0.0, max=0.9)
    error_half_life_s: float = setting(60.0, "Half-life of the smoothed job error rate.", min=0.1)
    cpu_warning: float = setting(85.0, "CPU use (%) that enters warning.", min=1.0, max=100.0)
    cpu_critical: float = setting(0.0, "CPU use (%) that enters critical (0: never; a busy CPU slows jobs down but "
                                  "is no reason to refuse GPU work).", min=0.0, max=100.0)
    memory_warning: float = setting(85.0, "Memory use (%) that enters warning.", min=1.0, max=100.0)
    memory_critical: float = setting(95.0, "Memory use (%) that enters critical.", min=1.0, max=100.0)
    gpu_memory_warning: float = setting(85.0, "GPU memory use (%) that enters warning.", min=1.0, max=100.0)
    gpu_memory_critical: float = setting(95.0, "GPU memory use (%) that enters critical.", min=1.0, max=100.0)
    queue_warning: float = setting(16.0, "Jobs waiting that enter warning.", min=1.0)
    queue_critical: float = setting(0.0, "Jobs waiting that enter critical (0: never; the queue refuses jobs "
                                    "itself when full).", min=0.0)
    error_rate_warning: float = setting(0.25, "Smoothed fraction of failed jobs that enters warning.", min=0.0, max=1.0)
    error_rate_critical: float = setting(0.6, "Smoothed fraction of failed jobs that enters critical.", min=0.0, max=1.0)
    loop_lag_warning_s: float = setting(0.1, "Event-loop lag (s) that enters warning.", min=0.001)
    loop_lag_critical_s: float = setting(1.0, "Event-loop lag (s) that enters critical.", min=0.001)
    hung_workers_warning: float = setting(1.0, "Workers held by work past its job's timeout that enter warning.",
                                          min=0.0)
    hung_workers_critical: float = setting(0.0, "Hung workers that enter critical (0: never).", min=0.0)


@dataclass
class ResourcesConfig:
    """Cleanup of old renders, temporary and result files (the model memory budget is models.memory_budget_gb)."""

    cleanup_interval_s: float = setting(600.0, "How often the server cleans up (0: never while serving).", min=0.0)
    renders_max_age_days: float = setting(30.0, "Renders older than this are deleted (0: keep forever).", min=0.0)
    renders_max_total_mb: float = setting(4096.0, "The oldest renders go once renders/ holds more (0: no limit).",
                                          min=0.0)
    temp_max_age_hours: float = setting(24.0, "Temporary files and result files older than this are deleted.",
                                        min=0.0)

/// The tables, written once in SQL that both SQLite and PostgreSQL accept.
///
/// Money is in USD as double precision: costs are sums of token counts times prices per
/// million, and settlement clamps the tiny remainders floating point leaves behind.
enum Schema {
    /// Ordered migrations; the index + 1 is the schema version.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE IF NOT EXISTS api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                secret_hash TEXT NOT NULL,
                profile TEXT,
                budget_usd DOUBLE PRECISION,
                budget_period TEXT,
                rpm BIGINT,
                tpm BIGINT,
                created_at DOUBLE PRECISION NOT NULL,
                revoked_at DOUBLE PRECISION
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS budget_usage (
                key_id TEXT NOT NULL,
                period_start TEXT NOT NULL,
                spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
                reserved_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
                PRIMARY KEY (key_id, period_start)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS rate_usage (
                key_id TEXT NOT NULL,
                window_start BIGINT NOT NULL,
                requests BIGINT NOT NULL DEFAULT 0,
                tokens BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (key_id, window_start)
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS request_log (
                id TEXT PRIMARY KEY,
                created_at DOUBLE PRECISION NOT NULL,
                key_id TEXT,
                profile TEXT NOT NULL,
                route TEXT NOT NULL,
                decision TEXT NOT NULL,
                model TEXT,
                deployment TEXT,
                openness TEXT,
                hosting TEXT,
                status BIGINT NOT NULL,
                upstream_status BIGINT,
                prompt_tokens BIGINT NOT NULL,
                completion_tokens BIGINT NOT NULL,
                cached_tokens BIGINT NOT NULL,
                reasoning_tokens BIGINT NOT NULL,
                usage_source TEXT NOT NULL,
                cost_usd DOUBLE PRECISION NOT NULL,
                counterfactual_cost_usd DOUBLE PRECISION NOT NULL,
                latency_ms DOUBLE PRECISION NOT NULL,
                ttft_ms DOUBLE PRECISION,
                stream BIGINT NOT NULL,
                error TEXT,
                prompt_text TEXT,
                response_text TEXT
            )
            """,
            "CREATE INDEX IF NOT EXISTS request_log_created_at ON request_log (created_at)",
            "CREATE INDEX IF NOT EXISTS request_log_key_id ON request_log (key_id, created_at)",
        ],
        // 2: keys may expire.
        ["ALTER TABLE api_keys ADD COLUMN expires_at DOUBLE PRECISION"],
    ]

    static let requestLogColumns = [
        "id", "created_at", "key_id", "profile", "route", "decision", "model", "deployment", "openness", "hosting", "status",
        "upstream_status", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "usage_source", "cost_usd",
        "counterfactual_cost_usd", "latency_ms", "ttft_ms", "stream", "error", "prompt_text", "response_text",
    ]

    /// Amounts below this are floating-point remainders of settled reservations.
    static let epsilon = 1e-9
}

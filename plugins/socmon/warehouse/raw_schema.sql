-- The raw layer: payloads exactly as the APIs returned them, append-only.
-- Run by `socmon db up` as the loader role, so that default privileges apply.
-- A row is identified by (object key columns, payload_hash): loading the same payload twice adds
-- nothing, and an edited object arrives as a new version.

create table if not exists raw.vk_posts (
    owner_id     bigint      not null,
    post_id      bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (owner_id, post_id, payload_hash)
);

create table if not exists raw.vk_comments (
    owner_id     bigint      not null,
    post_id      bigint      not null,
    comment_id   bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (owner_id, comment_id, payload_hash)
);

-- A post missing from a re-read of its window (twice): marked deleted, never dropped from vk_posts.
create table if not exists raw.vk_deleted_posts (
    owner_id     bigint      not null,
    post_id      bigint      not null,
    payload      jsonb       not null,  -- {"owner_id", "post_id", "date"}: what socmon knew of it
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    detected_at  timestamptz not null default now(),
    unique (owner_id, post_id)
);

create table if not exists raw.vk_groups (
    group_id     bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (group_id, payload_hash)
);

create table if not exists raw.telegram_messages (
    peer_id      bigint      not null,
    message_id   bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (peer_id, message_id, payload_hash)
);

create table if not exists raw.telegram_channels (
    channel_id   bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (channel_id, payload_hash)
);

create table if not exists raw.ok_topics (
    group_id     bigint      not null,
    topic_id     bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (group_id, topic_id, payload_hash)
);

create table if not exists raw.ok_comments (
    topic_id     bigint      not null,
    comment_id   text        not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (topic_id, comment_id, payload_hash)
);

create table if not exists raw.ok_groups (
    group_id     bigint      not null,
    payload      jsonb       not null,
    payload_hash text        not null,
    source_id    text        not null,
    load_id      text        not null,
    loaded_at    timestamptz not null default now(),
    unique (group_id, payload_hash)
);

-- Records that could not be loaded, with the reason; they never stop a batch.
create table if not exists raw.rejected (
    platform     text        not null,
    entity       text        not null,
    source_id    text        not null,
    reason       text        not null,
    raw_text     text        not null,
    raw_hash     text        not null,
    load_id      text        not null,
    rejected_at  timestamptz not null default now(),
    unique (platform, entity, raw_hash)
);

-- Where each source stopped reading, per method. Moved only after the data it covers is committed.
create table if not exists raw.source_cursors (
    source_id       text        not null,
    method          text        not null,
    cursor          jsonb       not null default '{}',
    last_success_at timestamptz,
    last_error      text,
    last_error_at   timestamptz,
    updated_at      timestamptz not null default now(),
    primary key (source_id, method)
);

-- The incremental dbt models read only what was loaded since their watermark (macro changed_staging_rows):
-- this keeps an hourly run's cost growing with the new rows, not with the history.
create index if not exists vk_posts_loaded_at_idx on raw.vk_posts (loaded_at);
create index if not exists vk_comments_loaded_at_idx on raw.vk_comments (loaded_at);
create index if not exists telegram_messages_loaded_at_idx on raw.telegram_messages (loaded_at);
create index if not exists ok_topics_loaded_at_idx on raw.ok_topics (loaded_at);
create index if not exists ok_comments_loaded_at_idx on raw.ok_comments (loaded_at);

-- Daily limits a platform reported per token and method (VK error 29): that token does not call that
-- method again until stopped_until (midnight in Moscow), in any run or task. Tokens only as fingerprints.
create table if not exists raw.quota_stops (
    platform          text        not null,
    token_fingerprint text        not null,
    method            text        not null,
    stopped_until     timestamptz not null,
    reason            text        not null,
    recorded_at       timestamptz not null default now(),
    primary key (platform, token_fingerprint, method)
);

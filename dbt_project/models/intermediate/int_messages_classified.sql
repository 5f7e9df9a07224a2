{{
    config(
        tags=["classifier"],
        materialized='incremental',
        unique_key='source_message_key',
        incremental_strategy='delete_insert_planned',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['source_message_key']},
            {'columns': ['unioned_at']},
            {'columns': ['classified_at']},
            {'columns': ['rule_version']},
            {'columns': ['author_id', 'published_at']},
            {'columns': ['published_at']},
            {'columns': ['thread_root_key']},
            {'columns': ['is_overridden']},
        ],
        pre_hook=[
            "set local work_mem = '256MB'",
            "{{ join_methods_of_whole_batches('off') if is_incremental() else join_methods_of_whole_batches('off', ['nestloop']) }}",
            "set local jit = off",
        ],
    )
}}

{#- Rules over the lower-cased text (ё -> е), all read from the lexicons in seeds/rules, whose hits in each
    message int_message_lexicon_hits finds (its own model, so that it runs beside the places and the learned
    scores):
    - reason, in this order: official_author, advertising_spam, abusive, not_about_authorities for a
      community's own post (unless it relays a citizen's message), out_of_scope (when its markers' score
      is at least the category's), not_about_authorities (no category, or a marker and no complaint), and
      duplicate (the same author's near-identical text within var duplicate_window_hours of an earlier
      would-be incident, in one or several networks);
    - category by weighted keywords; by the learned category score of int_message_category_scores when it
      is sure and the keywords lead by a point at most, to break their tie, and for a report without a
      keyword; body named in the text, else the category's default; municipality
      named in the text (gazetteer, word forms), else the monitored community's; importance by markers.
    Human corrections (seeds/overrides/classification_overrides.csv) win over every rule and are shown
    (is_overridden, override_by, override_reason).
    An incremental run classifies the messages int_messages_unioned wrote since the ones it classified last
    (its own largest unioned_at: a run that was interrupted or skipped loses nothing), and those with (or
    formerly with) a correction; all of them when some row was classified under another rule_version.
    Every row written carries classified_at, the watermark of the models downstream. The batch's old rows are
    deleted with the planner's defaults (delete_insert_planned, macros/incremental.sql): the key's index, not
    a scan of the whole history under this query's pre-hooks. It keeps the indexes something reads: no
    model or job looks it up by loaded_at, and the answers' matching compares reply_thread_key and
    parent_message_key only within the official comments it found through thread_root_key; indexes on those
    three cost each batch row three more index insertions (read from disk at 10.5M messages). JIT is off:
    the planner switches make every plan look enormous, and Postgres JIT-compiled all of it at full
    optimisation (3 s at 200k messages, 7 s at 1M). Its CTEs' row estimates are far off, so the planner may
    not nest loops over them; an incremental run's batch joins by hashes only (the planner's guesses led it
    to loops over the batch), a full build also by merges: there every model upstream is read whole, in the
    order of its key's index, and 1M-row merges cost less than hashes of the wide rows (the query 27.4 s ->
    18.9 s at 1M messages, the same rows). -#}

{%- set rule_version = rule_version() %}

with

unioned as not materialized (
    select * from {{ ref('int_messages_unioned') }}
),

categories as (
    select * from {{ ref('categories') }}
),

lexicon_hits as not materialized (
    select * from {{ ref('int_message_lexicon_hits') }}
),

tokens as not materialized (
    select * from {{ ref('int_message_tokens') }}
),

author_links as (
    select * from {{ source('ops', 'author_links') }}
),

classification_overrides as (
    select * from {{ ref('classification_overrides') }}
),

{#- the batch: what int_messages_unioned (re)wrote since the last classification, and the messages with
    (or formerly with) a human correction; everything when some row was classified under another
    rule_version. The same condition selects the batch's texts and its words (int_message_tokens). -#}
{%- set batch_condition = 'true' %}
{%- if is_incremental() %}
    {%- if not holds_other_rule_version(rule_version) %}
        {%- set batch_condition %}
        batch.unioned_at > {{ processed_since('unioned_at') }}
        -- a key array (not `in (select …)`), so that both arms are index scans, whatever the history's size
        or batch.source_message_key = any(array(
            select source_message_key from {{ ref('classification_overrides') }}
            {%- if 'is_overridden' in adapter.get_columns_in_relation(this) | map(attribute='name') | list %}
            union all
            select source_message_key from {{ this }} where is_overridden
            {%- endif %}
        ))
        {%- endset %}
    {%- endif %}
{%- endif %}

-- the batch's words, split once by int_message_tokens (joined by spaces, the duplicate key)
message_tokens as not materialized (
    select batch.source_message_key, batch.words
    from tokens as batch
    where {{ batch_condition }}
),

messages as not materialized (
    select
        batch.*,
        array_to_string(message_tokens.words, ' ')                              as text_words
    from unioned as batch
    inner join message_tokens
        on message_tokens.source_message_key = batch.source_message_key
    where {{ batch_condition }}
),

-- what the lexicons found in the batch's messages (int_message_lexicon_hits, one row per message, written
-- with the same unioned_at as int_message_tokens: the same condition selects the batch)
batch_lexicon_hits as not materialized (
    select *
    from lexicon_hits as batch
    where {{ batch_condition }}
),

-- the batch's places and learned scores, selected by the same condition: the three models are written with
-- the unioned_at of int_message_tokens. Their whole tables, joined to the batch, were scanned and hashed
-- under this model's pre-hooks (nested loops off): 10.5M rows each at 10.5M messages, 830 MB spilled to disk
places as (
    select *
    from {{ ref('int_message_municipalities') }} as batch
    where {{ batch_condition }}
),

report_scores as (
    select *
    from {{ ref('int_message_report_scores') }} as batch
    where {{ batch_condition }}
),

category_rankings as (
    select *
    from {{ ref('int_message_category_scores') }} as batch
    where {{ batch_condition }}
),

-- category: the score of each (keyword hits times their weights), and its first hit
category_scores as (
    select
        batch_lexicon_hits.source_message_key,
        scores.category_code,
        scores.score,
        scores.first_hit_position
    from batch_lexicon_hits
    cross join lateral unnest(
        batch_lexicon_hits.category_codes, batch_lexicon_hits.category_scores,
        batch_lexicon_hits.category_first_positions
    ) as scores (category_code, score, first_hit_position)
),

-- the non-incident, complaint, relayed and importance markers (null when none was found)
message_markers as (
    select
        source_message_key, advertising_hits, abusive_hits, out_of_scope_score, not_about_authorities_hits,
        is_complaint, is_relayed, is_high_importance
    from batch_lexicon_hits
),

-- a krai body named in the text: the first one named
named_bodies as (
    select source_message_key, named_body_code as body_code
    from batch_lexicon_hits
    where named_body_code is not null
),

-- the best score; a tie goes to a category of the body the text names (Минспорт: бассейн and льготы),
-- then to the one the learned category score ranks higher (int_message_category_scores: the keywords were
-- written next to the development set, and their ties on other texts are the learned score's to break),
-- then to the earliest hit
best_categories as (
    select distinct on (category_scores.source_message_key)
        category_scores.source_message_key,
        category_scores.category_code,
        category_scores.score as category_score
    from category_scores
    left join categories
        on categories.code = category_scores.category_code
    left join named_bodies
        on named_bodies.source_message_key = category_scores.source_message_key
    left join category_rankings
        on category_rankings.source_message_key = category_scores.source_message_key
    order by
        category_scores.source_message_key,
        category_scores.score desc,
        coalesce(categories.default_body_code = named_bodies.body_code, false) desc,
        case category_scores.category_code
            when category_rankings.first_category_code then 1
            when category_rankings.second_category_code then 2
            when category_rankings.third_category_code then 3
        end nulls last,
        category_scores.first_hit_position,
        category_scores.category_code
),

-- the keywords' lead: the best score over the second best (the best itself when one category is hit)
category_leads as (
    select
        source_message_key,
        max(score) - coalesce((array_agg(score order by score desc))[2], 0)    as keyword_lead
    from category_scores
    group by source_message_key
),

-- the rules together

ruled as (
    select
        messages.*,
        -- the category; the verdict below stays the keywords'
        case
            -- the keywords lead by a point at most (one incidental word), and the learned category score
            -- is sure of its first category
            when category_leads.keyword_lead <= 1
                and category_rankings.first_category_probability >= 0.6
                then category_rankings.first_category_code
            -- no keyword: the learned category of a text the learned report score reads as a report
            else coalesce(
                best_categories.category_code,
                case when report_scores.is_report then category_rankings.first_category_code end
            )
        end                                                       as category_code,
        named_bodies.body_code                                    as named_body_code,
        coalesce(places.text_municipality_code, messages.community_municipality_code)
                                                                  as municipality_code,
        case
            when places.text_municipality_code is not null then 'text'
            when messages.community_municipality_code is not null then 'community'
        end                                                       as municipality_source,
        coalesce(message_markers.is_high_importance, false)       as is_high_importance,
        case
            when messages.author_is_official
                then 'official_author'
            when messages.is_marked_as_ads or coalesce(message_markers.advertising_hits, 0) > 0
                then 'advertising_spam'
            when coalesce(message_markers.abusive_hits, 0) > 0
                then 'abusive'
            {%- if not var('community_posts_are_incidents') %}
            when messages.author_kind = 'community' and not coalesce(message_markers.is_relayed, false)
                then 'not_about_authorities'
            {%- endif %}
            -- a place outside the krai, unless the text also names a krai place and complains
            when places.out_of_region_place is not null
                and not (places.text_municipality_code is not null and coalesce(message_markers.is_complaint, false))
                then 'out_of_scope'
            when coalesce(message_markers.out_of_scope_score, 0) > 0
                and message_markers.out_of_scope_score >= coalesce(best_categories.category_score, 0)
                then 'out_of_scope'
            -- no category; or a marker of talk, unless the text complains or asks a krai body a question
            -- ("Уважаемый минздрав края, скажите, когда откроют ...?")
            when best_categories.category_code is null
                or coalesce(message_markers.not_about_authorities_hits, 0) > 0
                    and not coalesce(message_markers.is_complaint, false)
                    and not (named_bodies.body_code is not null and strpos(messages.message_text, '?') > 0)
                -- the incident vocabulary alone, once, in a text that neither complains nor names a body
                or best_categories.category_score < 2
                    and not coalesce(message_markers.is_complaint, false)
                    and named_bodies.body_code is null
                -- what the rules would report, but the words read as talk: the learned report-vs-talk
                -- score (int_message_report_scores) is below its floor
                or not coalesce(report_scores.is_report, true)
                then 'not_about_authorities'
        end                                                       as rule_reason,
        nullif(messages.text_words, '')                           as duplicate_text_key
    from messages
    left join best_categories
        on best_categories.source_message_key = messages.source_message_key
    left join named_bodies
        on named_bodies.source_message_key = messages.source_message_key
    left join message_markers
        on message_markers.source_message_key = messages.source_message_key
    left join places
        on places.source_message_key = messages.source_message_key
    left join report_scores
        on report_scores.source_message_key = messages.source_message_key
    left join category_rankings
        on category_rankings.source_message_key = messages.source_message_key
    left join category_leads
        on category_leads.source_message_key = messages.source_message_key
),

-- duplicates: among would-be incidents, the same author's near-identical text within the window of an
-- earlier copy. One person's accounts in several networks are linked in author_links; without a link,
-- a copy in another network counts only when var cross_network_min_similarity is set and the texts are
-- that similar and at least var cross_network_min_text_length long.

rule_candidates as (
    select source_message_key, platform, author_id, duplicate_text_key, published_at
    from ruled
    where rule_reason is null and duplicate_text_key is not null
    {% if is_incremental() %}
    union all
    select source_message_key, platform, author_id, duplicate_text_key, published_at
    from {{ this }} as classified
    where (classified.is_incident or classified.non_incident_reason = 'duplicate')
        and classified.published_at >= (select min(published_at) from ruled)
            - interval '{{ var("duplicate_window_hours") }} hours'
        {%- if var('cross_network_min_similarity', none) is none %}
        -- earlier messages of this batch's authors (and of the accounts linked to them) only
        and classified.author_id in (
            select author_id from ruled
            union
            select linked.author_id
            from author_links as linked
            inner join author_links as batch_author
                on batch_author.person_key = linked.person_key
            inner join ruled
                on ruled.platform = batch_author.platform
                and ruled.author_id = batch_author.author_id
        )
        {%- endif %}
        and not exists (select 1 from messages where messages.source_message_key = classified.source_message_key)
    {% endif %}
),

duplicate_candidates as (
    select
        rule_candidates.*,
        coalesce(author_links.person_key, rule_candidates.platform || ':' || rule_candidates.author_id)
            as author_identity
    from rule_candidates
    left join author_links
        on author_links.platform = rule_candidates.platform
        and author_links.author_id = rule_candidates.author_id
),

duplicate_pairs as (
    select
        later.source_message_key,
        earlier.source_message_key  as earlier_message_key,
        earlier.published_at        as earlier_published_at
    from duplicate_candidates as later
    inner join duplicate_candidates as earlier
        on (earlier.published_at, earlier.source_message_key) < (later.published_at, later.source_message_key)
        and earlier.published_at >= later.published_at - interval '{{ var("duplicate_window_hours") }} hours'
        and (
            earlier.author_identity = later.author_identity
            {%- if var('cross_network_min_similarity', none) is not none %}
            or earlier.platform <> later.platform
                and length(later.duplicate_text_key) >= {{ var('cross_network_min_text_length') }}
                and similarity(earlier.duplicate_text_key, later.duplicate_text_key)
                    >= {{ var('cross_network_min_similarity') }}
            {%- endif %}
        )
    where similarity(earlier.duplicate_text_key, later.duplicate_text_key) >= {{ var('duplicate_min_similarity') }}
),

duplicates as (
    select distinct on (source_message_key)
        source_message_key,
        earlier_message_key as duplicate_of_message_key
    from duplicate_pairs
    order by source_message_key, earlier_published_at, earlier_message_key
),

-- the rules' verdict, then the human corrections (classification_overrides), which win

rule_verdicts as (
    select
        ruled.*,
        ruled.rule_reason is null and duplicates.source_message_key is null         as rule_is_incident,
        coalesce(ruled.rule_reason, case when duplicates.source_message_key is not null then 'duplicate' end)
                                                                                    as rule_non_incident_reason,
        duplicates.duplicate_of_message_key
    from ruled
    left join duplicates
        on duplicates.source_message_key = ruled.source_message_key
),

verdicts as (
    select
        rule_verdicts.*,
        classification_overrides.source_message_key is not null                     as is_overridden,
        classification_overrides.override_by,
        classification_overrides.override_reason,
        coalesce(classification_overrides.is_incident, rule_verdicts.rule_is_incident) as final_is_incident,
        coalesce(classification_overrides.category_code, rule_verdicts.category_code)  as final_category_code,
        classification_overrides.responsible_body_code                              as override_body_code,
        classification_overrides.municipality_code                                  as override_municipality_code,
        classification_overrides.importance                                         as override_importance,
        classification_overrides.non_incident_reason                                as override_non_incident_reason
    from rule_verdicts
    left join classification_overrides
        on classification_overrides.source_message_key = rule_verdicts.source_message_key
),

final as (
    select
        verdicts.source_message_key,
        verdicts.platform,
        verdicts.message_kind,
        verdicts.author_id,
        verdicts.author_kind,
        verdicts.author_is_official,
        verdicts.account_key,
        verdicts.account_body_code,
        verdicts.community_key,
        verdicts.community_municipality_code,
        verdicts.thread_root_key,
        verdicts.parent_message_key,
        verdicts.reply_thread_key,
        verdicts.published_at,
        verdicts.detected_at,
        verdicts.loaded_at,
        verdicts.unioned_at,
        verdicts.message_text,
        verdicts.message_url,
        verdicts.final_is_incident                                                  as is_incident,
        case
            when not verdicts.final_is_incident
                then coalesce(verdicts.override_non_incident_reason, verdicts.rule_non_incident_reason)
        end                                                                         as non_incident_reason,
        verdicts.final_category_code                                                as category_code,
        case
            when verdicts.final_is_incident
                then coalesce(
                    verdicts.override_body_code, verdicts.named_body_code, final_categories.default_body_code
                )
        end                                                                         as responsible_body_code,
        verdicts.named_body_code,
        coalesce(verdicts.override_municipality_code, verdicts.municipality_code)   as municipality_code,
        case
            when verdicts.override_municipality_code is not null then 'override'
            else verdicts.municipality_source
        end                                                                         as municipality_source,
        case
            when verdicts.final_is_incident
                then coalesce(
                    verdicts.override_importance,
                    case when verdicts.is_high_importance then 'high' else 'normal' end
                )
        end                                                                         as importance,
        case when not verdicts.final_is_incident then verdicts.duplicate_of_message_key end
                                                                                    as duplicate_of_message_key,
        verdicts.duplicate_text_key,
        verdicts.is_overridden,
        verdicts.override_by,
        verdicts.override_reason,
        '{{ rule_version }}'::text                                                  as rule_version,
        {{ run_started_at_sql() }}                                                  as classified_at
    from verdicts
    left join categories as final_categories
        on final_categories.code = verdicts.final_category_code
)

select * from final

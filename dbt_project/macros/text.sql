{#- Lower case, ё -> е: the form every lexicon pattern is written for. -#}
{% macro normalize_text(expression) -%}
    replace(lower(coalesce({{ expression }}, '')), 'ё', 'е')
{%- endmacro %}

{#- Whole words of a normalised text: letters and digits, everything else separates. -#}
{% macro word_separator() -%}
    '[^а-яa-z0-9]+'
{%- endmacro %}

{#- The case forms of one lower-case Russian word (a place name in the nominative), as text[].
    Deliberately generous: extra forms cost nothing, since a name matches only as a whole sequence of
    words. Adjectives in all genders (-ий/-ый/-ой/-ая/-ое/-ые: армавирские, ейская), feminine nouns in -а/-я/-ь, plurals in -ы/-и,
    neuter and indeclinable names in -о/-е, and consonant-final masculine nouns. -#}
{% macro ru_word_forms(word) -%}
    case
        when length({{ word }}) <= 2 then array[{{ word }}]
        when {{ word }} ~ '([кгхжшчщ]ий|ний)$'
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ого', 'ому', 'его', 'ему', 'им', 'ом', 'ем', 'ие', 'их', 'ими', 'ая', 'ой', 'ую', 'ое']) as e)
        when {{ word }} ~ 'ый$'
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ого', 'ому', 'ым', 'ом', 'ые', 'ых', 'ыми', 'ая', 'ой', 'ую', 'ое']) as e)
        when {{ word }} ~ 'ой$' and length({{ word }}) > 5
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ого', 'ому', 'им', 'ым', 'ом']) as e)
        when {{ word }} ~ 'ая$'
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ой', 'ей', 'ую', 'ою']) as e)
        when {{ word }} ~ 'яя$'
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ей', 'юю']) as e)
        when {{ word }} ~ '[ое]е$'
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ого', 'его', 'ому', 'ему', 'ым', 'им', 'ом', 'ем']) as e)
        when {{ word }} ~ '[ыи]е$'
            then array[{{ word }}] || array(select left({{ word }}, -2) || e from unnest(array['ых', 'их', 'ым', 'им', 'ыми', 'ими']) as e)
        when {{ word }} ~ 'а$'
            then array[{{ word }}] || array(select left({{ word }}, -1) || e from unnest(array['ы', 'и', 'е', 'у', 'ой', 'ою', 'ей']) as e)
        when {{ word }} ~ 'я$'
            then array[{{ word }}] || array(select left({{ word }}, -1) || e from unnest(array['и', 'е', 'ю', 'ей']) as e)
        when {{ word }} ~ 'ь$'
            then array[{{ word }}] || array(select left({{ word }}, -1) || e from unnest(array['и', 'ью', 'я', 'ю', 'ем', 'е']) as e)
        when {{ word }} ~ 'й$'
            then array[{{ word }}] || array(select left({{ word }}, -1) || e from unnest(array['я', 'ю', 'ем', 'е']) as e)
        when {{ word }} ~ '[ыи]$'
            then array[{{ word }}] || array(select left({{ word }}, -1) || e from unnest(array['ах', 'ам', 'ами', 'ов', 'ей']) as e)
        when {{ word }} ~ '[оеуюэ]$'
            then array[{{ word }}] || array(select left({{ word }}, -1) || e from unnest(array['а', 'у', 'ом', 'е']) as e)
        else array[{{ word }}] || array(select {{ word }} || e from unnest(array['а', 'у', 'ом', 'ем', 'е']) as e)
    end
{%- endmacro %}


{#- A message's words as text[], from its normalised text (normalize_text): the words of the whole
    text, in order. Joined by spaces they are the duplicate key. -#}
{% macro text_words(normalized_text) -%}
    string_to_array(trim(regexp_replace({{ normalized_text }}, {{ word_separator() }}, ' ', 'g')), ' ')
{%- endmacro %}

{#- The normalised text without VK mention markup ("[club200002|Министерство транспорта ...], спасибо"):
    a mention names a body, but its words are no keywords of a category. -#}
{% macro content_text(normalized_text) -%}
    regexp_replace({{ normalized_text }}, '\[(club|public|event|id)[0-9]+\|[^]]*\]', ' ', 'g')
{%- endmacro %}

{#- The words of a normalised text's VK mentions, one mention after the other, an empty string
    between two mentions (so that no phrase runs from one into the next); null when it has none. -#}
{% macro markup_words(normalized_text) -%}
    (
        select array_agg(words.word order by markup.markup_number, words.word_position)
        from regexp_matches(
            {{ normalized_text }}, '\[(?:club|public|event|id)[0-9]+\|([^]]*)\]', 'g'
        ) with ordinality as markup (parts, markup_number)
        cross join lateral unnest(
            case when markup.markup_number > 1 then array[''] else array[]::text[] end || {{ text_words('markup.parts[1]') }}
        ) with ordinality as words (word, word_position)
    )
{%- endmacro %}


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


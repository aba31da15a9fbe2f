"""xAPI 1.0.3 statement validation (and the few 2.0.0 additions), with the field and rule that failed.

Every check raises :class:`XAPIValidationError` naming the JSON path of the bad value
(``object.definition.choices[2].id``) and a short rule id (``required``, ``iri``,
``unknown-property`` ...), so the LRS can answer 400 with both. The rules follow
xAPI 1.0.3 part two (Data): required properties, objectType values, exactly one
inverse functional identifier, formats (IRI, UUID, mailto, timestamps, durations,
RFC 5646 language tags), interaction component lists, SubStatement limits, score
ranges, context rules, attachments, and no properties the specification does not define.

The modules here, each using those before it:

- :mod:`.values`: the JSON path, the error, and checks of single values (types, IRIs, UUIDs, timestamps,
  language maps, extensions);
- :mod:`.agents`: Agents and Groups, and an Agent given as a request parameter;
- :mod:`.activities`: Activities and their definitions (interaction types and component lists);
- :mod:`.statements`: statements and SubStatements (verb, object, result, context, attachments).
"""

from .activities import COMPONENT_LISTS, INTERACTION_TYPES, validate_activity_id
from .agents import IFIS, validate_actor
from .statements import CONTEXT_ACTIVITY_KEYS, SIGNATURE_USAGE, VOIDED, validate_statement
from .values import Path, XAPIValidationError, render, validate_uuid

__all__ = ["COMPONENT_LISTS", "CONTEXT_ACTIVITY_KEYS", "IFIS", "INTERACTION_TYPES", "SIGNATURE_USAGE", "VOIDED",
           "Path", "XAPIValidationError", "render", "validate_activity_id", "validate_actor", "validate_statement",
           "validate_uuid"]

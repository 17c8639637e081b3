"""Problems: what is wrong with a flow document, its test cases, a run's inputs or a request.

Each problem is `{"node", "field", "code", "params", "message"}` (`runtime.codes.coded`).
The value is `template` (its parameters are its placeholders) or `(template, extra
parameters)` when a parameter is not part of the English text.
"""

from __future__ import annotations

# Pydantic's own error types keep their name as the code (`runtime.codes.pydantic_errors`
# maps an error to it, with its context as parameters); a type not listed here becomes
# `invalid_value`. The English text is pydantic's. `field` is the name of the offending key.
PYDANTIC: dict[str, str | tuple[str, tuple[str, ...]]] = {
    "missing": ("Field required", ("field",)),
    "extra_forbidden": ("Extra inputs are not permitted", ("field",)),
    "invalid_value": "Input is not valid here",
    "string_type": "Input should be a valid string",
    "string_too_short": "String should have at least {min_length} character(s)",
    "string_too_long": "String should have at most {max_length} character(s)",
    "string_pattern_mismatch": "String should match pattern '{pattern}'",
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "finite_number": "Input should be a finite number",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "greater_than": "Input should be greater than {gt}",
    "greater_than_equal": "Input should be greater than or equal to {ge}",
    "less_than": "Input should be less than {lt}",
    "less_than_equal": "Input should be less than or equal to {le}",
    "multiple_of": "Input should be a multiple of {multiple_of}",
    "literal_error": "Input should be {expected}",
    "enum": "Input should be {expected}",
    "dict_type": "Input should be a valid dictionary",
    "model_type": "Input should be a valid dictionary or instance of {class_name}",
    "model_attributes_type": "Input should be a valid dictionary or object to extract fields from",
    "list_type": "Input should be a valid list",
    "too_short": "{field_type} should have at least {min_length} item(s) after validation, not {actual_length}",
    "too_long": "{field_type} should have at most {max_length} item(s) after validation, not {actual_length}",
    "none_required": "Input should be None",
    "json_invalid": "Invalid JSON: {error}",
    "datetime_parsing": "Input should be a valid datetime, {error}",
    "datetime_from_date_parsing": "Input should be a valid datetime or date, {error}",
    "date_parsing": "Input should be a valid date in the format YYYY-MM-DD, {error}",
    "url_parsing": "Input should be a valid URL, {error}",
    "uuid_parsing": "Input should be a valid UUID, {error}",
    "union_tag_invalid": (
        "Input tag '{tag}' found using {discriminator} does not match any of the expected tags: {expected_tags}"
    ),
    "union_tag_not_found": "Unable to extract tag using discriminator {discriminator}",
}

# A request the API could not read (query, path or body), beyond pydantic's types.
REQUEST: dict[str, str | tuple[str, tuple[str, ...]]] = {
    "wrong_type": ("Expected `{expected}`, got `{got}`", ("field",)),
    "missing_parameter": "Missing required {source} parameter '{field}'",
    "invalid_json": "the request body is not valid JSON",
    "body_required": "the request needs a JSON body",
    "body_fields_required": "the request needs a JSON body with {fields}",
}

# The flow document (runtime/flows/validation.py, runtime/flows/document.py).
DOCUMENT: dict[str, str | tuple[str, tuple[str, ...]]] = {
    "not_an_object": "a flow document is a JSON object",
    "document_too_large": "the document is {size} bytes; the limit is {limit} (1 MiB)",
    "document_too_deep": "the document nests objects and lists more than {limit} levels deep",
    "too_many_nodes": "the flow has {count} nodes; the limit is {limit}",
    "invalid_node_id": "node ids start with a letter or _ and contain only letters, digits and _ (at most 64)",
    "duplicate_node_id": "the id '{node}' is used by more than one node",
    "reserved_node_id": "'{node}' is reserved; choose another id",
    "unknown_node_type": "unknown node type '{type}'; known types: {known}",
    "edge_unknown_node": "edge {source} → {target} refers to {missing}, which is not a node",
    "duplicate_edge": "edge {source} → {target} is there twice",
    "edge_when_without_branches": "'{source}' ({type}) does not branch, so its edges cannot have 'when'",
    "unknown_branch": "'{branch}' is not a branch of '{node}'; its branches: {branches}",
    "cycle": "the flow has a cycle: {path}",
    "no_input_node": "the flow needs an 'input' node where runs start",
    "second_input_node": "a flow has one 'input' node; '{first}' is already one",
    "unreachable_node": "'{node}' cannot be reached from the input node '{input}'",
    "undeclared_input": "'inputs.{name}' is not a declared input (declared: {declared})",
    "unknown_reference": "'{reference}' is neither a node nor 'inputs'",
    "not_upstream": "'{reference}' is not upstream of this node; connect it first",
    "unknown_node_output": "'{node}' has no output '{output}'; its outputs: {outputs}",
    # Templates and expressions in configs and outputs (nodes/rendering/templating.py)
    "template_syntax": "template syntax error on line {line}: {detail}",
    "expression_syntax": "expression syntax error: {detail}",
    "template_too_deep": "the template is nested too deeply to be read",
    "template_too_large": "the template has {length} characters; at most {limit} are allowed",
    # The declared inputs (runtime/flows/document.py)
    "enum_not_allowed": "choices (enum) are for {types} inputs, not {type}",
    "enum_wrong_type": "the choice {value} is not of the input's type {type}",
    "enum_repeats": "the choices (enum) repeat a value",
    "default_wrong_type": "the default {value} is not of the input's type {type}",
    "default_not_a_choice": "the default {value} is not one of the choices {choices}",
    # Node configs whose own checks refused a value (nodes/*.py)
    "router_one_mode": "set either 'condition' or 'classes' (exactly one of them)",
    "router_class_twice": "'classes' contains a class twice",
    "router_review_reserved": "'review' is reserved for low-confidence results",
    "invalid_duration": "'{value}' is not an ISO-8601 duration such as P3D or PT4H",
    "duration_not_positive": "'{value}' must be longer than zero",
    "invalid_assignee": "'{value}' is not an assignee; use role:<role> or user:<username>",
    "invalid_selector": "'{selector}' is not a selector like $.data.items[0].id (at '{rest}')",
    "sql_is_a_template": "sql is fixed text; pass values as :named parameters in `params`",
    "labels_empty": "give at least one label, or leave the field out",
    # agent nodes (nodes/agent.py, nodes/agent_tools.py, runtime/engine/validation.py)
    "agent_tool_parameters_not_object": "a tool's parameters are a JSON schema of an object ('type': 'object'), not '{type}'",
    "agent_tool_placeholder": "the path's placeholder '{name}' must be a required property of the parameters",
    "agent_tool_duplicate": "two tools are named '{name}'",
    "agent_approval_required": "the tool '{tool}' changes something and says approve: never, which the card's risk '{risk}' does not allow (only: {allowed})",
}

# Test cases of a document (runtime/engine/cases.py, runtime/engine/case_validation.py).
CASES: dict[str, str | tuple[str, tuple[str, ...]]] = {
    "check_target": "name what to check: either 'output' (a flow output) or 'node' and 'field' (a step output)",
    "invalid_regex": "'{pattern}' is not a valid regular expression: {detail}",
    "invalid_json_schema": "not a valid JSON schema{where}: {detail}",
    "check_missing": "an assertion needs 'check', one of: {checks}",
    "unknown_check": "unknown check '{check}'; checks: {checks}",
    "duplicate_case_name": "the name '{name}' is used by more than one test case",
    "case_unknown_node": "'{node}' is not a node of this flow (nodes: {nodes})",
    "input_not_fixable": "the input node is not fixed; give the case's inputs instead",
    "approval_not_fixable": "approval nodes are decided, not fixed: script the decision under 'decisions'",
    "case_unknown_node_output": "'{node}' ({type}) has no output '{output}'; its outputs: {outputs}",
    "decision_not_for_approval": "'{node}' is a {type} node; decisions are for approval nodes",
    "decision_not_editable": "approval node '{node}' is not editable, so a decision cannot change its payload",
    "case_unknown_flow_output": "'{output}' is not an output of this flow (outputs: {outputs})",
    "node_does_not_branch": "'{node}' ({type}) does not branch",
    "not_an_approval_node": "'{node}' is a {type} node, not an approval node",
    "not_a_connector_node": "'{node}' is a {type} node, not a connector node",
    # agent nodes in test cases (`agents`, tool_called, tool_not_called, steps_at_most)
    "not_an_agent_node": "'{node}' is a {type} node, not an agent node",
    "case_unknown_tool": "agent '{node}' has no tool '{tool}' (tools: {tools})",
    "agent_fixed_and_scripted": "agent '{node}' is both fixed and scripted; a case does one or the other",
}

# A run's inputs against the flow's declared inputs (runtime/engine/inputs.py).
INPUTS: dict[str, str | tuple[str, tuple[str, ...]]] = {
    "input_required": "'{name}' is required ({type})",
    "input_wrong_type": "'{name}' must be of type {type}, got {got}",
    "input_not_a_choice": "'{name}' must be one of {choices}, not {value}",
    "input_unknown": "'{name}' is not an input of this flow (inputs: {inputs})",
}

PROBLEMS: dict[str, str | tuple[str, tuple[str, ...]]] = {
    **PYDANTIC,
    **REQUEST,
    **DOCUMENT,
    **CASES,
    **INPUTS,
}

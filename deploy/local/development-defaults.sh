# shellcheck shell=bash
# Sourced by services.sh, run.sh and `make migrate`: a local stack runs with
# KOPPEL_ENVIRONMENT=development and, for every secret not set beforehand, the documented
# development default (koppel.secret_policy.DEVELOPMENT_DEFAULTS), and says which it used.
# Outside development the services refuse these values: they are published right here.
#   koppel_development_defaults "[run]"    # exports, then prints one line to stderr

koppel_development_defaults() {
    local prefix=$1 entry name value shown used=()
    koppel_intake_matcher_token
    for entry in \
        "KOPPEL_ENVIRONMENT|development|development" \
        "INTAKE_API_TOKENS|demo:demo-token|demo:demo-token" \
        "MATCHER_API_TOKENS|demo:demo-matcher-token|demo:demo-matcher-token" \
        "INTAKE_MATCHER_API_TOKEN|demo-matcher-token|demo-matcher-token" \
        "NOTIFIER_UNSUBSCRIBE_SECRET|development-unsubscribe-secret|<development value>"; do
        IFS='|' read -r name value shown <<<"$entry"
        local file_variable="${name}_FILE"
        if [[ -n ${!name:-} || -n ${!file_variable:-} ]]; then
            continue # the operator's own value (or file) wins
        fi
        if [[ $name == INTAKE_MATCHER_API_TOKEN && -n ${MATCHER_API_TOKENS_FILE:-} ]]; then
            continue # the matcher's tokens are the operator's: so is intake's
        fi
        export "$name=$value"
        used+=("$name=$shown")
    done
    if ((${#used[@]})); then
        local joined
        joined=$(printf ', %s' "${used[@]}")
        printf '%s development defaults: %s\n' "$prefix" "${joined:2}" >&2
    fi
}

# Intake asks the matcher's read API with INTAKE_MATCHER_API_TOKEN, which must be one of the
# tokens of MATCHER_API_TOKENS. When the operator set those (and not intake's), intake takes
# the token of their first pair rather than a development default the matcher would refuse.
koppel_intake_matcher_token() {
    local first=
    if [[ -n ${INTAKE_MATCHER_API_TOKEN:-} || -n ${INTAKE_MATCHER_API_TOKEN_FILE:-} ]]; then
        return 0
    fi
    if [[ -n ${MATCHER_API_TOKENS:-} ]]; then
        first=${MATCHER_API_TOKENS%%,*}
    elif [[ -n ${MATCHER_API_TOKENS_FILE:-} ]]; then
        [[ -r $MATCHER_API_TOKENS_FILE ]] || return 0
        IFS= read -r first <"$MATCHER_API_TOKENS_FILE" || true
        first=${first%%,*}
    else
        return 0 # both take their development defaults below
    fi
    first=${first#*:}
    first=${first#"${first%%[![:space:]]*}"}
    first=${first%"${first##*[![:space:]]}"}
    [[ -n $first ]] && export INTAKE_MATCHER_API_TOKEN=$first
    return 0
}

# Intake seals webhook secrets with KOPPEL_SECRET_KEYS and the notifier opens them. No key
# is published as a development default: a random one is made once per checkout, kept in
# <checkout>/.local/secret-keys and passed as KOPPEL_SECRET_KEYS_FILE (unless set already).
#   koppel_development_secret_keys "[run]" "$ROOT"
koppel_development_secret_keys() {
    local prefix=$1 file=$2/.local/secret-keys
    if [[ -n ${KOPPEL_SECRET_KEYS:-} || -n ${KOPPEL_SECRET_KEYS_FILE:-} ]]; then
        return 0
    fi
    if [[ ! -s $file ]]; then
        mkdir -p "${file%/*}"
        (umask 077 && printf 'dev:%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$file")
        printf '%s webhook secrets are sealed with a new random key in %s\n' "$prefix" "$file" >&2
    else
        printf '%s webhook secrets are sealed with the key in %s\n' "$prefix" "$file" >&2
    fi
    export KOPPEL_SECRET_KEYS_FILE=$file
}

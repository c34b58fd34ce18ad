# set -e: where a failure exits the shell and where it does not.
sh -c 'set -e; echo a; false; echo "not reached"'
echo "status: $?"
sh -c 'set -e; if false; then echo no; fi; echo "if condition is exempt"'
sh -c 'set -e; false || echo "|| is exempt"; ! true; echo "! is exempt"'
sh -c 'set -e; false | true; echo "pipeline status is the last command"'
sh -c 'set -e; true | false; echo "not reached"'
echo "failing last stage: $?"
sh -c 'set -e; (exit 3); echo "not reached"'
echo "subshell failure: $?"
sh -c 'set -e; f() { false; echo "in function, not reached"; }; f; echo "not reached"'
echo "function failure: $?"
sh -c 'set -e; x=$(false); echo "not reached"'
echo "assignment from failing substitution: $?"
sh -c 'set -e; while false; do :; done; echo "while condition is exempt"'
sh -c 'set -eu; echo "$undefined_var"; echo "not reached"' 2>/dev/null
echo "set -u: $?"
sh -c 'set -o pipefail; false | true; echo "pipefail status: $?"'
sh -c 'exit 42'
echo "plain exit: $?"

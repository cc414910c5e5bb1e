#pragma once

namespace bdd::cli {

// Parse the command line, run the subcommand, print any error once. Returns the exit code.
int run(int argc, char** argv);

} // namespace bdd::cli

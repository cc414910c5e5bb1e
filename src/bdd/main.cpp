#include <bdd/cli/app.hpp>

int main(int argc, char** argv) {
  return bdd::cli::run(argc, argv);
}

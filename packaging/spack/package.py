# Spack package for fedsilo.  To use it, copy this file into a Spack
# repository as packages/fedsilo/package.py (`spack repo create`, then
# `spack repo add`), and point `git` below at your clone:
#
#   spack install fedsilo                    # OpenBLAS, parallel HDF5, any MPI
#   spack install fedsilo ~openblas ^blis    # another BLAS provider with cblas.h
#   spack install --test=root fedsilo        # also runs `make check`
#   spack test run fedsilo                   # stand-alone tests after install
#
# configure finds its dependencies with pkg-config under Debian's module
# names (ompi-c, hdf5-openmpi, openblas, ...).  Spack's packages install
# other .pc names (hdf5.pc) or none (a generic BLAS), so this package
# passes every dependency's flags in the <NAME>_CFLAGS / <NAME>_LIBS
# variables, which PKG_CHECK_MODULES uses instead of asking pkg-config.

from spack.package import *


class Fedsilo(AutotoolsPackage):
    """Secure cross-silo federated learning over MPI.

    One MPI rank is one institution: it reads only its own HDF5 shard, trains
    locally with BLAS, and joins a secure-sum allreduce each round (fixed-point
    updates masked with pairwise AES-CTR keystreams from an authenticated
    Diffie-Hellman key exchange), so only sums leave a rank.  Provides the
    `fedsilo` command, libfedsilo, its headers and fedsilo.pc."""

    homepage = "https://example.invalid/fedsilo"
    git = "https://example.invalid/fedsilo.git"

    # Releases are `make dist` tarballs; add them with their checksum:
    #   version("0.1.0", sha256="<sha256sum of fedsilo-0.1.0.tar.gz>")
    version("main", branch="main")

    variant(
        "openblas",
        default=True,
        description="Use OpenBLAS (the tested BLAS); ~openblas accepts any Spack "
        "blas provider whose headers include cblas.h",
    )
    variant(
        "hdf5",
        default=True,
        description="Data shards, checkpoints and manifests in parallel HDF5 "
        "(hdf5+mpi); required by fedsilo 0.1",
    )
    conflicts("~hdf5", msg="fedsilo 0.1 reads shards and writes checkpoints only through HDF5")

    # A git checkout has no configure script yet.
    depends_on("autoconf", type="build", when="@main")
    depends_on("automake", type="build", when="@main")
    depends_on("libtool", type="build", when="@main")
    depends_on("m4", type="build", when="@main")
    depends_on("pkgconfig", type="build")

    depends_on("mpi")
    depends_on("hdf5+mpi", when="+hdf5")
    depends_on("openblas", when="+openblas")
    depends_on("blas", when="~openblas")
    depends_on("gmp")
    depends_on("openssl@3:")
    depends_on("libsodium@1.0.18:")
    depends_on("libinih")
    depends_on("zlib-api")
    depends_on("jansson")
    depends_on("check@0.11:", type="test")

    def _flags(self, name):
        spec = self.spec[name]
        return spec.headers.cpp_flags, spec.libs.ld_flags

    def setup_build_environment(self, env):
        # Every dependency's flags, so configure need not find Debian's .pc names.
        for var, name in (
            ("MPI", "mpi"),
            ("HDF5", "hdf5"),
            ("BLAS", "openblas" if self.spec.satisfies("+openblas") else "blas"),
            ("GMP", "gmp"),
            ("CRYPTO", "openssl"),
            ("ZLIB", "zlib-api"),
            ("JANSSON", "jansson"),
        ):
            cflags, libs = self._flags(name)
            env.set(var + "_CFLAGS", cflags or " ")
            env.set(var + "_LIBS", libs)
        inih = self.spec["libinih"]
        env.set("INIH_CFLAGS", "-I" + inih.prefix.include)
        env.set("INIH_LIBS", "-L{0} -linih".format(inih.prefix.lib))
        if self.run_tests:
            check = self.spec["check"]
            env.set("CHECK_CFLAGS", "-I" + check.prefix.include)
            env.set("CHECK_LIBS", "-L{0} -lcheck -lm -lpthread".format(check.prefix.lib))
        else:
            # The unit-test library is only linked by `make check`; a
            # non-empty value keeps configure from looking for it.
            env.set("CHECK_CFLAGS", " ")
            env.set("CHECK_LIBS", " ")

    def configure_args(self):
        mpirun = join_path(self.spec["mpi"].prefix.bin, "mpirun")
        if not is_exe(mpirun):
            mpirun = join_path(self.spec["mpi"].prefix.bin, "mpiexec")
        return ["MPIEXEC=" + mpirun]

    @run_after("install")
    def cache_test_sources(self):
        """Keep the API example for `spack test run`."""
        cache_extra_test_sources(self, [join_path("examples", "api")])

    def test_version(self):
        """fedsilo --version runs and names the program"""
        fedsilo = which(self.prefix.bin.fedsilo)
        out = fedsilo("--version", output=str.split, error=str.split)
        assert out.startswith("fedsilo "), out

    def test_help(self):
        """every subcommand answers --help"""
        fedsilo = which(self.prefix.bin.fedsilo)
        for cmd in ("import", "split", "inspect", "train", "eval", "keygen"):
            fedsilo(cmd, "--help", output=str.split, error=str.split)

    def test_secure_sum(self):
        """build examples/api with pkg-config and run the secure sum on 3 ranks"""
        src = join_path(install_test_root(self), "examples", "api")
        pcpath = ":".join(
            [self.prefix.lib.pkgconfig, self.prefix.lib64.pkgconfig]
            + [d.prefix.lib.pkgconfig for d in self.spec.traverse(root=False)]
        )
        with working_dir(src):
            make = which("make")
            make("clean")
            make("CC=" + self.compiler.cc, "PKG_CONFIG_PATH=" + pcpath)
            mpi_bin = self.spec["mpi"].prefix.bin
            launcher = which(join_path(mpi_bin, "mpirun")) or which(join_path(mpi_bin, "mpiexec"))
            args = ["-np", "3"]
            if self.spec.satisfies("^openmpi"):
                args.insert(0, "--oversubscribe")
            out = launcher(*args, "./secure_sum", output=str.split, error=str.split)
            assert "PASS:" in out, out

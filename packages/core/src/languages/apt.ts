import { shellJoin, shellQuote } from "../internal/shell.js";
import type { SandboxCommand, SandboxContext } from "./handler.js";

/**
 * Debian packages for C++ and shell sessions, installed without root: sessions run as an unprivileged user on a
 * read-only root filesystem, so apt only resolves and downloads (its lists and downloads in /tmp, the dependencies
 * the image already has skipped), and each package is unpacked into `<workdir>/.sandbox-apt`. The run scripts put
 * that tree on the search paths (`aptEnvironment`).
 */
export const aptRoot = (workdir: string) => `${workdir}/.sandbox-apt`;

/** apt's state for the session: package lists, downloads, sources. Lists are fetched once per session. */
const APT_STATE = "/tmp/.sandbox-apt";

/** The packages unpacked so far, one .deb file name per line (part of the C++ build cache key). */
export const aptPackagesFile = (workdir: string) => `${aptRoot(workdir)}/.packages`;

export function aptInstall(libraries: readonly string[], { workdir, packageIndexes }: SandboxContext): SandboxCommand {
  const root = shellQuote(aptRoot(workdir));
  const options = [
    `-o Dir::State::Lists=${APT_STATE}/lists`,
    `-o Dir::Cache::Archives=${APT_STATE}/archives`,
    // No binary caches on disk, no locks (the root filesystem is read-only), lists kept compressed (they live in memory).
    "-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=true",
    "-o Acquire::GzipIndexes=true -o Acquire::Languages=none -o APT::Get::List-Cleanup=false",
    // As root (runtimeConfigs.user) apt would switch to its _apt user to download: impossible without capabilities.
    "-o APT::Sandbox::User=root",
    ...(packageIndexes.apt
      ? [`-o Dir::Etc::SourceList=${APT_STATE}/sources.list -o Dir::Etc::SourceParts=${APT_STATE}/sources.list.d`]
      : []),
  ].join(" ");
  const source = packageIndexes.apt
    ? `mkdir -p ${APT_STATE}/sources.list.d && printf 'deb %s %s main\\n' ${shellQuote(packageIndexes.apt)} "$(. /etc/os-release && echo "$VERSION_CODENAME")" > ${APT_STATE}/sources.list\n`
    : "";
  return {
    script: `set -e
mkdir -p ${APT_STATE}/lists/partial ${APT_STATE}/archives/partial ${root}
${source}[ -e ${APT_STATE}/lists/.updated ] || { apt-get ${options} -q --error-on=any update && touch ${APT_STATE}/lists/.updated; }
apt-get ${options} -q -y --no-install-recommends --download-only install -- ${shellJoin(libraries)}
for deb in ${APT_STATE}/archives/*.deb; do
  [ -e "$deb" ] || continue
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C ${root} --exclude=./usr/share/doc --exclude=./usr/share/man --exclude=./usr/share/locale
  echo "\${deb##*/}" >> ${shellQuote(aptPackagesFile(workdir))}; rm -f "$deb"
done
# Absolute links inside packages point at the image's root; point them into the tree where the target is there.
find ${root} -type l -lname '/*' | while read -r link; do
  target=$(readlink "$link"); [ -e ${root}"$target" ] && ln -sfn ${root}"$target" "$link" || true
done`,
  };
}

/**
 * Shell lines putting the unpacked packages on the search paths (when any are installed): PATH and
 * LD_LIBRARY_PATH exported, compiler include paths in CPATH, and `$SANDBOX_APT_LDFLAGS` for linking: the library
 * directories (also as rpath, so a built program runs anywhere) and every shared library there, linked only if used.
 */
export function aptEnvironment(workdir: string): string {
  const root = shellQuote(aptRoot(workdir));
  return `SANDBOX_APT_LDFLAGS=
if [ -d ${root} ]; then
  r=${root}; apt_libs=; apt_links=
  for d in "$r"/usr/lib/*-linux-gnu "$r"/lib/*-linux-gnu "$r"/usr/lib "$r"/lib; do
    [ -d "$d" ] || continue
    apt_libs=\${apt_libs:+$apt_libs:}$d; SANDBOX_APT_LDFLAGS="$SANDBOX_APT_LDFLAGS -L$d -Wl,-rpath,$d"
    for so in "$d"/lib*.so; do [ -e "$so" ] && so=\${so##*/lib} && apt_links="$apt_links -l\${so%.so}"; done
  done
  [ -z "$apt_links" ] || SANDBOX_APT_LDFLAGS="$SANDBOX_APT_LDFLAGS -Wl,--as-needed$apt_links"
  for d in "$r"/usr/include/*-linux-gnu "$r"/usr/include; do [ -d "$d" ] && export CPATH=$d\${CPATH:+:$CPATH}; done
  export PATH="$r/usr/local/bin:$r/usr/bin:$r/bin:$r/usr/sbin:$r/sbin:$PATH"
  export LD_LIBRARY_PATH=$apt_libs\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
fi`;
}

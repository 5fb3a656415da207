import { packageBuild } from "../../tsup.base.ts";

// One entry per subpath of package.json's `exports` (see src/index.ts), plus the CLI, which has no types.
const entries = { index: "src/index.ts", tool: "src/tool/index.ts", backends: "src/backends/index.ts", setup: "src/setup.ts" };

export default packageBuild({ ...entries, cli: "src/cli.ts" }, entries);

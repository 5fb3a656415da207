export {
  describeViolations,
  RestrictedModule,
  type RestrictedModuleInit,
  type SecurityCheckResult,
  SecurityIssueSeverity,
  SecurityPattern,
  type SecurityPatternInit,
  SecurityPolicy,
  type SecurityPolicyInit,
  type SeverityInput,
  severityName,
} from "./policy.js";
export { describeSecurityPreset, getSecurityPolicy, listSecurityPresets, type PresetName, SECURITY_PRESETS } from "./presets.js";
export { type UnsafeSetting, unsafeRuntimeSettings } from "./runtime-config.js";
export { type CodeScan, scanCode } from "./scanner/scan.js";

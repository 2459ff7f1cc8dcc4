export { AppError, ConfigError, asError } from './errors';
export { parseEnv, env, DEV_SECRETS_KEY } from './config';
export { createLogger, REDACT_PATHS, type LogFormat, type Logger, type LoggerOptions } from './logger';
export { installShutdown, type ShutdownStep } from './shutdown';
export { connectionFailureCode, dependencyTarget, withoutCredentials, LOCAL_DEPENDENCIES_COMMAND, type DependencyTarget } from './dependency';
export { SecretBox } from './secret-box';
export { GroupCommit, KeyedGroupCommit } from './group-commit';
export { readSignatureHeaders, signatureMatches, signDelivery, signingKeyOf, signingSecretOf, SIGNATURE_TOLERANCE_S, type SignatureHeaders, type SignedDelivery } from './webhook-signature';
export { isStorableText, unstorableInput, MAX_INPUT_DEPTH } from './storable-text';

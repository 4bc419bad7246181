package s3

// ClearCredentialEnv lets the external tests run with only the
// credentials they set.
var ClearCredentialEnv = clearCredentialEnv

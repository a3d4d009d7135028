// Package graph is the Microsoft Graph directory provider: it reads users
// (delta query), their registered authentication methods, MFA phones and
// self-service reset e-mail from a Microsoft Entra tenant and hands them to
// the store as a directory.Update. Methods come from the
// userRegistrationDetails report (Entra ID P1/P2) with phoneMethods and
// emailMethods in JSON batches of 20, or, in a tenant without the licence,
// from each user's authentication/methods in batches of 20
// (Config.Methods; auto decides from Graph's answer to the report).
//
// It is the only package of carrierwatch that imports the Microsoft Graph
// SDK and azidentity; it imports only the SDK's request-builder packages it
// uses (users, reports, models), which keeps a cold build near a minute
// instead of several. It does not store anything, decide who is affected or
// send mail; it does not read secrets from files (the caller passes them).
package graph

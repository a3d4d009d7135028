// Package graph is the Microsoft Graph directory provider: it reads users
// (delta query), their registered authentication methods (the
// userRegistrationDetails report) and their MFA phones (phoneMethods, in
// JSON batches of 20) from a Microsoft Entra tenant and hands them to the
// store as a directory.Update.
//
// It is the only package of carrierwatch that imports the Microsoft Graph
// SDK and azidentity; it imports only the SDK's request-builder packages it
// uses (users, reports, models), which keeps a cold build near a minute
// instead of several. It does not store anything, decide who is affected or
// send mail; it does not read secrets from files (the caller passes them).
package graph

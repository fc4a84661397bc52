package decide

import "github.com/budare/budare/agent/store"

// StoreRecords is the local store as the decision's Records. *store.Store
// is Records itself (its Scan decodes the stored lines with
// record.DecodeLine, the fast path); the type remains for the callers that
// name it.
type StoreRecords struct{ *store.Store }

// MIG's documents as its Go code marshals them (github.com/mozilla/mig:
// mig.Action, mig.Command, mig.Agent, modules.Result): the same field
// names, tags and types, so that encoding/json gives the same bytes as
// MIG's scheduler writes in its spool.  Written from MIG's published JSON
// format; no code of MIG's.
package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// Action is mig.Action: description, threat, the three times and the
// counters are structs, always present (omitempty does not apply to them)
type Action struct {
	ID             float64        `json:"id"`
	Name           string         `json:"name"`
	Target         string         `json:"target"`
	Description    Description    `json:"description,omitempty"`
	Threat         Threat         `json:"threat,omitempty"`
	ValidFrom      time.Time      `json:"validfrom"`
	ExpireAfter    time.Time      `json:"expireafter"`
	Operations     []Operation    `json:"operations"`
	PGPSignatures  []string       `json:"pgpsignatures"`
	Status         string         `json:"status,omitempty"`
	StartTime      time.Time      `json:"starttime,omitempty"`
	FinishTime     time.Time      `json:"finishtime,omitempty"`
	LastUpdateTime time.Time      `json:"lastupdatetime,omitempty"`
	Counters       ActionCounters `json:"counters,omitempty"`
	SyntaxVersion  uint16         `json:"syntaxversion,omitempty"`
}

type ActionCounters struct {
	Sent      int `json:"sent,omitempty"`
	Done      int `json:"done,omitempty"`
	InFlight  int `json:"inflight,omitempty"`
	Success   int `json:"success,omitempty"`
	Cancelled int `json:"cancelled,omitempty"`
	Expired   int `json:"expired,omitempty"`
	Failed    int `json:"failed,omitempty"`
	TimeOut   int `json:"timeout,omitempty"`
}

type Description struct {
	Author   string  `json:"author,omitempty"`
	Email    string  `json:"email,omitempty"`
	URL      string  `json:"url,omitempty"`
	Revision float64 `json:"revision,omitempty"`
}

type Threat struct {
	Ref    string `json:"ref,omitempty"`
	Level  string `json:"level,omitempty"`
	Family string `json:"family,omitempty"`
	Type   string `json:"type,omitempty"`
}

type Operation struct {
	Module         string      `json:"module"`
	Parameters     interface{} `json:"parameters"`
	IsCompressed   bool        `json:"is_compressed,omitempty"`
	WantCompressed bool        `json:"want_compressed,omitempty"`
}

// String is the string investigators sign (MIG's syntax version 2)
func (a Action) String() (string, error) {
	ops, err := json.Marshal(a.Operations)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("name=%s;target=%s;validfrom=%d;expireafter=%%!s(int64=%d);operations=%s;",
		a.Name, a.Target, a.ValidFrom.UTC().Unix(), a.ExpireAfter.UTC().Unix(), ops), nil
}

// Command is mig.Command
type Command struct {
	ID         float64   `json:"id"`
	Action     Action    `json:"action"`
	Agent      Agent     `json:"agent"`
	Status     string    `json:"status"`
	Results    []Result  `json:"results"`
	StartTime  time.Time `json:"starttime"`
	FinishTime time.Time `json:"finishtime"`
}

// Result is modules.Result
type Result struct {
	FoundAnything bool        `json:"foundanything"`
	Success       bool        `json:"success"`
	Elements      interface{} `json:"elements"`
	Statistics    interface{} `json:"statistics"`
	Errors        []string    `json:"errors"`
}

// Agent is mig.Agent, also the heartbeat an agent sends
type Agent struct {
	ID              float64           `json:"id,omitempty"`
	Name            string            `json:"name"`
	QueueLoc        string            `json:"queueloc"`
	Mode            string            `json:"mode"`
	Version         string            `json:"version,omitempty"`
	PID             int               `json:"pid,omitempty"`
	LoaderName      string            `json:"loadername,omitempty"`
	StartTime       time.Time         `json:"starttime,omitempty"`
	DestructionTime time.Time         `json:"destructiontime,omitempty"`
	HeartBeatTS     time.Time         `json:"heartbeatts,omitempty"`
	RefreshTS       time.Time         `json:"refreshts,omitempty"`
	Status          string            `json:"status,omitempty"`
	Authorized      bool              `json:"authorized,omitempty"`
	Env             AgentEnv          `json:"environment,omitempty"`
	Tags            map[string]string `json:"tags,omitempty"`
}

type AgentEnv struct {
	Init      string      `json:"init,omitempty"`
	Ident     string      `json:"ident,omitempty"`
	OS        string      `json:"os,omitempty"`
	Arch      string      `json:"arch,omitempty"`
	IsProxied bool        `json:"isproxied"`
	Proxy     string      `json:"proxy,omitempty"`
	Addresses []string    `json:"addresses,omitempty"`
	PublicIP  string      `json:"publicip,omitempty"`
	AWS       AgentEnvAWS `json:"aws,omitempty"`
	Modules   []string    `json:"modules,omitempty"`
}

type AgentEnvAWS struct {
	InstanceID   string `json:"instanceid,omitempty"`
	LocalIPV4    string `json:"localipv4,omitempty"`
	AMIID        string `json:"amiid,omitempty"`
	InstanceType string `json:"instancetype,omitempty"`
}

// AgentsStats and AgentsVersionsSum are mig.AgentsStats and its parts
type AgentsStats struct {
	Timestamp             time.Time
	OnlineAgents          float64
	OnlineAgentsByVersion []AgentsVersionsSum
	OnlineEndpoints       float64
	IdleAgents            float64
	IdleAgentsByVersion   []AgentsVersionsSum
	IdleEndpoints         float64
	NewEndpoints          float64
	MultiAgentsEndpoints  float64
	DisappearedEndpoints  float64
	FlappingEndpoints     float64
}

type AgentsVersionsSum struct {
	Version string  `json:"version"`
	Count   float64 `json:"count"`
}

// Investigator is a row of investigators as MIG's code reads it
type Investigator struct {
	ID             float64
	Name           string
	PGPFingerprint string
	PublicKey      []byte
	PrivateKey     []byte
	Status         string
	CreatedAt      time.Time
	LastModified   time.Time
	Permissions    int64
	APIKey         string
}

// LoaderEntry and Manifest as MIG's API reads them
type LoaderEntry struct {
	ID        float64
	Name      string
	Prefix    string
	AgentName string
	LastSeen  time.Time
	Enabled   bool
	ExpectEnv string
}

type Manifest struct {
	ID         float64
	Name       string
	Content    string
	Timestamp  time.Time
	Status     string
	Target     string
	Signatures []string
}

#pragma once
// The state machine one role's requests run through, as a graph to draw.
//
// role_graph() follows the shape of the role's plan the way
// state_machine.cpp moves a request: intake checks, each branch of the
// route (its condition on the edge), each approval step and who decides
// it, provisioning of the groups or manual fulfilment, the active grant and
// how it ends. Only the states that role can reach appear. triage_graph()
// is the path of a request outside the catalog (the `unknown` bucket).
//
// Pure: a policy in, a graph out; to_dot() renders Graphviz DOT text.

#include <string>
#include <vector>

#include "interpreter/model.hpp"

namespace portcullis::interpreter {

struct GraphNode {
  std::string id;     // unique in the graph; safe as a DOT ID once quoted
  std::string state;  // the request status it stands for ("awaiting_approval"), or "mapped":
                      // triage handed the request to another role's route
  std::string label;  // what to print, lines separated by '\n'
  bool initial = false;
  bool final = false;  // a closed status
};

struct GraphEdge {
  std::string from;
  std::string to;
  std::string label;  // the event (and its condition), lines separated by '\n'
};

struct StateGraph {
  std::string name;              // "figma.admin", or "unknown" for triage
  std::string title;             // one line shown above the graph
  std::vector<GraphNode> nodes;  // in the order they were first reached
  std::vector<GraphEdge> edges;

  const GraphNode* find(const std::string& id) const;
};

// The graph of `role` (a role of `policy`).
StateGraph role_graph(const Policy& policy, const Role& role);

// The graph of a request for an app or role the catalog does not have.
StateGraph triage_graph(const Policy& policy);

// Graphviz DOT text of `graph`; every node is declared before any edge.
std::string to_dot(const StateGraph& graph);

}  // namespace portcullis::interpreter
